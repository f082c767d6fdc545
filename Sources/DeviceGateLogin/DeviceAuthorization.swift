#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The device authorization response, RFC 8628 §3.2.
public struct DeviceAuthorization: Equatable, Sendable {
    /// Secret: sent to the token endpoint only, never printed.
    public let deviceCode: String
    public let userCode: String
    public let verificationURI: String
    /// Optional in §3.2; the QR code shows it, or `verificationURI` when absent.
    public let verificationURIComplete: String?
    public let expiresIn: Int
    /// §3.2: "If no value is provided, clients MUST use 5 as the default."
    public let interval: Int

    public init(deviceCode: String, userCode: String, verificationURI: String, verificationURIComplete: String?,
                expiresIn: Int, interval: Int) {
        self.deviceCode = deviceCode
        self.userCode = userCode
        self.verificationURI = verificationURI
        self.verificationURIComplete = verificationURIComplete
        self.expiresIn = expiresIn
        self.interval = interval
    }

    /// The address the QR code carries.
    public var qrText: String { verificationURIComplete ?? verificationURI }

    /// §3.2: `device_code`, `user_code`, `verification_uri` and `expires_in` are REQUIRED,
    /// `verification_uri_complete` and `interval` OPTIONAL. A §3.1 error (RFC 6749 §5.2 JSON) or
    /// anything else is a failure saying what the server answered.
    public static func parse(status: Int, body: Data) -> Result<DeviceAuthorization, LoginFailure> {
        if status >= 500 {
            return .failure(.network("the device authorization endpoint answered HTTP \(status)"))
        }
        let json = JSONObject(data: body)
        guard status == 200, let json else {
            return .failure(TokenEndpointAnswer.refusal(of: "the device authorization request", status: status, json: json))
        }
        guard let deviceCode = json.string("device_code"), !deviceCode.isEmpty,
              let userCode = json.string("user_code"), !userCode.isEmpty,
              let verificationURI = json.string("verification_uri"), !verificationURI.isEmpty,
              let expiresIn = json.integer("expires_in"), expiresIn > 0 else {
            return .failure(.refused("the device authorization response lacks device_code, user_code, verification_uri or expires_in (RFC 8628 §3.2)"))
        }
        let interval = json.integer("interval").map { max($0, 1) } ?? 5
        let complete = json.string("verification_uri_complete").flatMap { $0.isEmpty ? nil : $0 }
        return .success(DeviceAuthorization(deviceCode: deviceCode, userCode: userCode, verificationURI: verificationURI,
                                            verificationURIComplete: complete, expiresIn: expiresIn, interval: min(interval, 300)))
    }
}
