/// An OAuth error response: RFC 6749 §5.2 `error` and `error_description`, plus the HTTP status.
///
/// A small struct with static members rather than a closed enum, so adding a code never breaks
/// a caller (the habit hummingbird's `PersistError` follows).
public struct OAuthError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The RFC error code, e.g. `authorization_pending`.
    public var code: String
    /// Human-readable text for the developer (RFC 6749 §5.2 `error_description`). Never holds secrets.
    public var detail: String
    /// HTTP status. RFC 6749 §5.2: 400 unless stated otherwise; 401 for `invalid_client` when
    /// the client tried to authenticate through the Authorization header.
    public var status: Int

    public init(code: String, detail: String, status: Int = 400) {
        self.code = code
        self.detail = detail
        self.status = status
    }

    public var description: String { "\(code): \(detail)" }

    public func with(detail: String) -> OAuthError { OAuthError(code: code, detail: detail, status: status) }

    // RFC 6749 §5.2
    public static func invalidRequest(_ detail: String) -> OAuthError { .init(code: "invalid_request", detail: detail) }
    public static func invalidClient(_ detail: String) -> OAuthError { .init(code: "invalid_client", detail: detail, status: 401) }
    public static func invalidGrant(_ detail: String) -> OAuthError { .init(code: "invalid_grant", detail: detail) }
    public static func unauthorizedClient(_ detail: String) -> OAuthError { .init(code: "unauthorized_client", detail: detail) }
    public static func unsupportedGrantType(_ detail: String) -> OAuthError { .init(code: "unsupported_grant_type", detail: detail) }
    public static func invalidScope(_ detail: String) -> OAuthError { .init(code: "invalid_scope", detail: detail) }

    /// `invalid_grant` for a device code no flow has (RFC 8628 §3.5, RFC 6749 §5.2): the answer
    /// to guessing, audited in aggregate (one line per address a minute), never line by line.
    public static let unknownDeviceCode = OAuthError.invalidGrant("unknown device_code")
    public static let unknownRefreshToken = OAuthError.invalidGrant("unknown refresh_token")
    public static let unknownAuthorizationCode = OAuthError.invalidGrant("unknown code")

    // RFC 8628 §3.5
    public static let authorizationPending = OAuthError(code: "authorization_pending", detail: "the user has not yet approved or denied this request")
    public static let slowDown = OAuthError(code: "slow_down", detail: "polling too fast: wait for the interval, which has grown by 5 seconds")
    public static let accessDenied = OAuthError(code: "access_denied", detail: "the user denied the authorization request")
    public static let expiredToken = OAuthError(code: "expired_token", detail: "the device code has expired; start a new device authorization")

    // Transport-level refusals that still answer in RFC 6749 §5.2 shape.
    public static func notFound(_ detail: String = "no such endpoint") -> OAuthError { .init(code: "not_found", detail: detail, status: 404) }
    public static func methodNotAllowed(_ detail: String) -> OAuthError { .init(code: "invalid_request", detail: detail, status: 405) }
    public static func payloadTooLarge(_ detail: String) -> OAuthError { .init(code: "invalid_request", detail: detail, status: 413) }
    public static func temporarilyUnavailable(_ detail: String) -> OAuthError { .init(code: "temporarily_unavailable", detail: detail, status: 503) }
}
