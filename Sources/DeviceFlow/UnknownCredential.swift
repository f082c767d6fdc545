/// A credential the token endpoint does not know: each kind is counted in a table of its own,
/// so that guessing either costs the audit log one line per address a minute.
public enum UnknownCredential: String, Sendable, CaseIterable {
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    case deviceCode = "device_code"
    /// `grant_type=refresh_token` (RFC 6749 §6).
    case refreshToken = "refresh_token"
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3).
    case authorizationCode = "authorization_code"

    /// The error the token endpoint answers with, as the audit line's reason.
    public var error: OAuthError {
        switch self {
        case .deviceCode: .unknownDeviceCode
        case .refreshToken: .unknownRefreshToken
        case .authorizationCode: .unknownAuthorizationCode
        }
    }
}
