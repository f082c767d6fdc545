/// Why `devicegate-login` stopped without tokens: one line for stderr and the exit status that
/// scripts test. Static members, so a new kind never breaks a caller (docs/login-tool.md lists
/// the statuses; `--help` repeats them).
public struct LoginFailure: Error, Equatable, Sendable {
    /// The process exit status.
    public let status: Int32
    /// One line, without the `devicegate-login:` prefix; never holds a secret.
    public let message: String

    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    /// Exit status 1: the server refused the request for a reason of its own (an OAuth error
    /// other than those below, such as `invalid_client` or `invalid_scope`), or answered
    /// something that is not what RFC 8628 or RFC 6749 describe.
    public static func refused(_ message: String) -> LoginFailure { LoginFailure(status: 1, message: message) }
    /// Exit status 2: the person declined (RFC 8628 §3.5 `access_denied`).
    public static let accessDenied = LoginFailure(status: 2, message: "the sign-in was denied (access_denied)")
    /// Exit status 3: the device code expired before anyone approved it (RFC 8628 §3.5 `expired_token`).
    public static let expiredToken = LoginFailure(status: 3, message: "the code expired before it was approved (expired_token): run devicegate-login again")
    /// Exit status 4: the server could not be reached, or answered with a 5xx status.
    public static func network(_ message: String) -> LoginFailure { LoginFailure(status: 4, message: message) }
    /// Exit status 5: the discovery document names another issuer, or there is none at that address.
    public static func wrongIssuer(_ message: String) -> LoginFailure { LoginFailure(status: 5, message: message) }
    /// Exit status 6: a local file (the token file, the client secret file, the SVG) cannot be read
    /// or written, is open to others, or the token file holds no refresh token.
    public static func localFile(_ message: String) -> LoginFailure { LoginFailure(status: 6, message: message) }
    /// Exit status 7: the refresh token was refused (`invalid_grant`): sign in again.
    public static let refreshRefused = LoginFailure(status: 7, message: "the refresh token was refused (invalid_grant): sign in again with devicegate-login without --refresh")

    /// The statuses as `--help` and docs/login-tool.md show them.
    public static let statusTable = """
        Exit statuses:
          0  tokens obtained (or refreshed)
          1  the server refused the request or answered something unreadable
          2  access_denied: the person declined
          3  expired_token: the code expired before it was approved
          4  network error: the server could not be reached or answered 5xx
          5  wrong issuer: discovery names another issuer, or has no document there
          6  a local file (token, client secret, SVG) cannot be read or written,
             is open to others, or the token file has no refresh token
          7  --refresh: the refresh token was refused (invalid_grant)
          64 usage error
        """
}
