/// A credential the token endpoint does not know: each kind is counted in a table of its own,
/// so that guessing either costs the audit log one line per address a minute.
public enum UnknownCredential: String, Sendable, CaseIterable {
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    case deviceCode = "device_code"
    /// `grant_type=refresh_token` (RFC 6749 §6).
    case refreshToken = "refresh_token"

    /// The error the token endpoint answers with, as the audit line's reason.
    public var error: OAuthError { self == .deviceCode ? .unknownDeviceCode : .unknownRefreshToken }
}
