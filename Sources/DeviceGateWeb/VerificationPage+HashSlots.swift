import DeviceGateHTTP
import Logging

extension VerificationPage {
    /// Every password-hash slot of the host stayed busy for the whole wait
    /// (`PasswordHashLimiter`): 503 with Retry-After, and the password was not checked.
    func hashingBusy(_ visitor: Visitor, logger: Logger) -> HTTPResponse {
        logger.notice("sign-in refused: every password-hash slot is busy", metadata: ["slots": "\(hashLimiter.slots)"])
        return messagePage(503, visitor, title: "busy_title", heading: "busy_heading", text: "busy_text", extra: [("Retry-After", "5")])
    }
}
