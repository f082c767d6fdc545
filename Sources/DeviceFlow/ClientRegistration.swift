/// A registered OAuth client, as the configuration describes it.
public struct ClientRegistration: Sendable, Equatable {
    /// RFC 6749 §2.1 client types.
    public enum Kind: Sendable, Equatable {
        /// Cannot keep a secret (a TV app, a CLI): identified by `client_id` alone.
        case `public`
        /// Authenticates with a secret; only the SHA-256 of the secret is ever held.
        case confidential(secretSHA256: [UInt8])
    }

    public var clientID: String
    public var displayName: String
    public var kind: Kind
    /// Scopes this client may ask for. A request outside this set gets `invalid_scope`.
    public var allowedScopes: ScopeSet
    /// Scopes granted when the request omits `scope` (RFC 6749 §3.3: the server may use a
    /// pre-defined default). Always a subset of `allowedScopes`.
    public var defaultScopes: ScopeSet
    /// Issue a refresh token on every grant, not only when `offline_access` is granted.
    public var issuesRefreshTokens: Bool
    /// A resource server (`introspection: true`): may introspect tokens issued to any client
    /// (RFC 7662 §2.1, §4). Other confidential clients learn only about their own tokens.
    public var mayIntrospectAnyToken: Bool
    /// RFC 9068 §2.2 `aud` of this client's access tokens (the API it is for); nil for
    /// `tokens.audience`. A gateway location naming another audience refuses them.
    public var audience: String?

    public init(clientID: String, displayName: String, kind: Kind, allowedScopes: ScopeSet, defaultScopes: ScopeSet,
                issuesRefreshTokens: Bool = false, mayIntrospectAnyToken: Bool = false, audience: String? = nil) {
        self.clientID = clientID
        self.displayName = displayName
        self.kind = kind
        self.allowedScopes = allowedScopes
        self.defaultScopes = defaultScopes
        self.issuesRefreshTokens = issuesRefreshTokens
        self.mayIntrospectAnyToken = mayIntrospectAnyToken
        self.audience = audience
    }

    public var isConfidential: Bool {
        if case .confidential = kind { return true }
        return false
    }

    /// Picks the scopes of a request: the client's defaults when omitted, never more than allowed.
    /// RFC 6749 §3.3; RFC 8628 §3.1 carries the same `scope` parameter.
    public func resolveScopes(requested: ScopeSet?) -> Result<ScopeSet, OAuthError> {
        guard let requested, !requested.isEmpty else { return .success(defaultScopes) }
        let refused = requested.subtracting(allowedScopes)
        guard refused.isEmpty else {
            // Echo at most 200 bytes: the description is for a developer, not a mirror.
            return .failure(.invalidScope("scope not allowed for this client: \(String(refused.joined(separator: " ").prefix(200)))"))
        }
        return .success(requested)
    }
}

/// How a request presented client credentials: RFC 6749 §2.3.1.
public struct ClientCredentials: Sendable, Equatable {
    public enum Method: String, Sendable, Equatable {
        /// `client_id` in the body, no secret (public clients).
        case none
        /// HTTP Basic in the Authorization header.
        case clientSecretBasic = "client_secret_basic"
        /// `client_id` and `client_secret` in the form body.
        case clientSecretPost = "client_secret_post"
    }

    public var clientID: String
    public var secret: String?
    public var method: Method

    public init(clientID: String, secret: String?, method: Method) {
        self.clientID = clientID
        self.secret = secret
        self.method = method
    }
}

/// The registered clients, looked up by `client_id`.
public struct ClientRegistry: Sendable {
    public private(set) var clients: [String: ClientRegistration]

    public init(_ clients: [ClientRegistration]) {
        var byID: [String: ClientRegistration] = [:]
        for client in clients { byID[client.clientID] = client }
        self.clients = byID
    }

    public subscript(clientID: String) -> ClientRegistration? { clients[clientID] }

    /// Authenticates a client, RFC 6749 §2.3 and §3.2.1.
    ///
    /// A confidential client must present its secret (basic or post); a public client must not
    /// present one. Every failure is `invalid_client` (401), never a hint about which part was
    /// wrong. The secret is compared as SHA-256 digests in constant time.
    public func authenticate(_ credentials: ClientCredentials) -> Result<ClientRegistration, OAuthError> {
        guard let client = clients[credentials.clientID] else {
            return .failure(.invalidClient("client authentication failed"))
        }
        switch client.kind {
        case .public:
            guard credentials.secret == nil else {
                return .failure(.invalidClient("client authentication failed: this client is public and has no secret"))
            }
            return .success(client)
        case .confidential(let expected):
            guard let secret = credentials.secret else {
                return .failure(.invalidClient("client authentication required (client_secret_basic or client_secret_post)"))
            }
            guard constantTimeEquals(Encoding.sha256(secret), expected) else {
                return .failure(.invalidClient("client authentication failed"))
            }
            return .success(client)
        }
    }
}
