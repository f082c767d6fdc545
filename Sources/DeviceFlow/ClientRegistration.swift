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
    /// The grants this client may use (`grant_types:`); any other is `unauthorized_client`
    /// (RFC 6749 §5.2). Without `grant_types:` a client has the device flow and refresh.
    public var grantTypes: Set<GrantType>
    /// RFC 6749 §3.1.2 registered redirection endpoints, matched exactly
    /// (`matchesRedirectURI`); the authorization endpoint redirects nowhere else.
    public var redirectURIs: [String]
    /// OIDC RP-Initiated Logout 1.0 §3: where `end_session_endpoint` may send the browser back.
    public var postLogoutRedirectURIs: [String]
    /// This client's own lifetimes; each one set overrides the global value.
    public var lifetimes: ClientLifetimes
    /// A first-party web app (`skip_consent: true`): a signed-in person is sent back to it
    /// without the consent page, unless it asks `prompt=consent` (Dex's `skipApprovalScreen`,
    /// Hydra's `skip_consent`). Never skips sign-in, and never applies to the device flow,
    /// whose consent is the RFC 8628 §5.4 defence against remote phishing.
    public var skipsConsent: Bool

    public init(clientID: String, displayName: String, kind: Kind, allowedScopes: ScopeSet, defaultScopes: ScopeSet,
                issuesRefreshTokens: Bool = false, mayIntrospectAnyToken: Bool = false, audience: String? = nil,
                grantTypes: Set<GrantType> = GrantType.defaults, redirectURIs: [String] = [], postLogoutRedirectURIs: [String] = [],
                lifetimes: ClientLifetimes = ClientLifetimes(), skipsConsent: Bool = false) {
        self.clientID = clientID
        self.displayName = displayName
        self.kind = kind
        self.allowedScopes = allowedScopes
        self.defaultScopes = defaultScopes
        self.issuesRefreshTokens = issuesRefreshTokens
        self.mayIntrospectAnyToken = mayIntrospectAnyToken
        self.audience = audience
        self.grantTypes = grantTypes
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.lifetimes = lifetimes
        self.skipsConsent = skipsConsent
    }

    public func allows(_ grant: GrantType) -> Bool { grantTypes.contains(grant) }

    /// Whether a signed-in person is sent back with a code without the consent page: only a
    /// confidential client with `skip_consent`. RFC 8252 §8.6: "Authorization servers SHOULD
    /// NOT process authorization requests automatically without user consent or interaction,
    /// except when the identity of the client can be assured" — a public client's cannot (any
    /// local program can listen on a loopback port and claim to be it).
    public var approvesWithoutConsent: Bool { skipsConsent && isConfidential }

    /// RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: the redirect URI must equal a registered one,
    /// byte for byte. The one exception is RFC 8252 §7.3: for a loopback IP literal
    /// (`http://127.0.0.1:{port}/…` or `http://[::1]:{port}/…`) the port is not compared,
    /// since a native app picks a free port at run time. `localhost` gets no such exception
    /// (RFC 8252 §8.3: it may resolve elsewhere).
    public func matchesRedirectURI(_ requested: String) -> Bool {
        for registered in redirectURIs {
            if constantTimeEquals(Array(registered.utf8), Array(requested.utf8)) { return true }
            if let a = LoopbackRedirect(registered), let b = LoopbackRedirect(requested), a.host == b.host, a.rest == b.rest { return true }
        }
        return false
    }

    /// Whether `uri` is one of `post_logout_redirect_uris`, exactly.
    public func matchesPostLogoutRedirectURI(_ uri: String) -> Bool { postLogoutRedirectURIs.contains(uri) }

    /// The `sub` of a client_credentials token: `client:<client_id>`. RFC 9068 §2.2 wants the
    /// client's identifier there, and §5 warns that it must not collide with a resource
    /// owner's, or a client named like a person would act as that person at every API and at
    /// userinfo. Usernames cannot hold ':' (htpasswd), and delegated sign-in refuses a
    /// REMOTE_USER starting with `client:`, so the namespaces never meet.
    public static func machineSubject(_ clientID: String) -> String { "client:" + clientID }

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

/// The grant types a client may be allowed (`grant_types:` in the configuration).
public enum GrantType: String, Sendable, Hashable, CaseIterable, Comparable {
    /// RFC 8628: `urn:ietf:params:oauth:grant-type:device_code`.
    case deviceCode = "device_code"
    /// RFC 6749 §4.1, with PKCE (RFC 7636).
    case authorizationCode = "authorization_code"
    /// RFC 6749 §4.4: a confidential client's own tokens.
    case clientCredentials = "client_credentials"
    /// RFC 6749 §6.
    case refreshToken = "refresh_token"

    /// A client without `grant_types:`: the device flow and its refresh tokens, as before
    /// there was a choice.
    public static let defaults: Set<GrantType> = [.deviceCode, .refreshToken]

    /// The `grant_type` value at the token endpoint (and in `grant_types_supported`).
    public var tokenEndpointValue: String {
        self == .deviceCode ? "urn:ietf:params:oauth:grant-type:device_code" : rawValue
    }

    public static func < (a: GrantType, b: GrantType) -> Bool { a.rawValue < b.rawValue }
}

/// A client's own lifetimes (`clients[].lifetimes:`), seconds; nil takes the global value.
public struct ClientLifetimes: Sendable, Equatable {
    /// RFC 8628 §3.2 `expires_in`.
    public var deviceCode: Int?
    /// RFC 8628 §3.2 `interval`.
    public var pollInterval: Int?
    public var accessToken: Int?
    public var idToken: Int?
    /// Of a refresh-token family, from the approval.
    public var refreshToken: Int?

    public init(deviceCode: Int? = nil, pollInterval: Int? = nil, accessToken: Int? = nil, idToken: Int? = nil, refreshToken: Int? = nil) {
        self.deviceCode = deviceCode
        self.pollInterval = pollInterval
        self.accessToken = accessToken
        self.idToken = idToken
        self.refreshToken = refreshToken
    }
}

/// A redirect URI to a loopback IP literal, split around its port (RFC 8252 §7.3).
struct LoopbackRedirect: Equatable {
    var host: String
    /// Everything after the port: the path, query and fragment.
    var rest: String

    init?(_ uri: String) {
        guard uri.hasPrefix("http://") else { return nil }
        let afterScheme = uri.dropFirst(7)
        let host: Substring
        if afterScheme.hasPrefix("127.0.0.1") {
            host = afterScheme.prefix(9)
        } else if afterScheme.hasPrefix("[::1]") {
            host = afterScheme.prefix(5)
        } else {
            return nil
        }
        var tail = afterScheme.dropFirst(host.count)
        if tail.first == ":" {
            tail = tail.dropFirst()
            let digits = tail.prefix { $0.isASCII && $0.isNumber }
            guard (1...5).contains(digits.count), let port = Int(digits), (1...65535).contains(port) else { return nil }
            tail = tail.dropFirst(digits.count)
        }
        guard tail.isEmpty || tail.first == "/" || tail.first == "?" else { return nil }
        self.host = String(host)
        self.rest = String(tail)
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
            // An empty password identifies a public client without authenticating it:
            // oidc-agent and some SDKs always send Basic (RFC 6749 §2.3.1 leaves this open).
            guard credentials.secret == nil || credentials.secret == "" else {
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
