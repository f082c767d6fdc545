/// Why an authorization request is told to the person rather than sent back to the client,
/// RFC 6749 §4.1.2.1: the client identifier or the redirect URI is missing, repeated, unknown
/// or does not match. `reason` is stable (for logs and tests); the page words it in the
/// person's language (the `authorize_<reason>` messages).
public struct AuthorizationPageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    /// The client's display name, for `redirectUnregistered`.
    public let clientName: String?

    init(_ reason: String, clientName: String? = nil) {
        self.reason = reason
        self.clientName = clientName
    }

    public static let clientRepeated = Self("client_repeated")
    public static let clientMissing = Self("client_missing")
    public static let clientUnknown = Self("client_unknown")
    public static let redirectRepeated = Self("redirect_repeated")
    public static let redirectMissing = Self("redirect_missing")
    public static func redirectUnregistered(clientName: String) -> Self { Self("redirect_unregistered", clientName: clientName) }

    public var description: String { reason }
}
