import DeviceGateHTTP
import Logging

extension VerificationPage {
    /// Every password-hash slot of the host stayed busy for the whole wait
    /// (`PasswordHashLimiter`): 503 with Retry-After, and the password was not checked.
    func hashingBusy(_ visitor: Visitor, logger: Logger) -> HTTPResponse {
        logger.notice("sign-in refused: every password-hash slot is busy", metadata: ["slots": "\(hashLimiter.slots)"])
        return messagePage(503, visitor, title: "Busy", heading: "Too many sign-ins right now",
                           text: "The service is checking a lot of passwords at the moment, so yours was not checked. Please wait a few seconds and sign in again.",
                           extra: [("Retry-After", "5")])
    }
}
