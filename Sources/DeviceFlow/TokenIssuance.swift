/// What a redeemed grant entitles the client to: the input of token issuance.
///
/// Device-code redemption builds one from the approved flow, and the refresh_token grant
/// builds the same value from a refresh-token family, so every issuer serves both.
public struct TokenGrant: Sendable, Equatable {
    public var clientID: String
    public var subject: String
    public var scope: ScopeSet
    public var authTime: UnixTime
    /// The flow the grant came from (SHA-256 of its device code), for audit and revocation.
    public var flowID: String
    /// Whether the response carries a (new) refresh token.
    public var issueRefreshToken: Bool
    /// The client's own `aud` (`ClientRegistration.audience`); nil for the issuer's default.
    public var audience: String?
    /// OIDC Core §3.1.3.6 `nonce` of the authorization request, copied into the id_token;
    /// nil for the device flow, refresh and client_credentials.
    public var nonce: String?
    /// Whether an id_token goes with `openid`: not for client_credentials, where no person
    /// authenticated (OIDC Core §2: an id_token is about an authentication event).
    public var issuesIDToken: Bool
    /// The client's own lifetimes (`clients[].lifetimes`); nil takes the issuer's.
    public var accessTokenLifetime: Int?
    public var idTokenLifetime: Int?

    public init(clientID: String, subject: String, scope: ScopeSet, authTime: UnixTime, flowID: String, issueRefreshToken: Bool = false,
                audience: String? = nil, nonce: String? = nil, issuesIDToken: Bool = true, accessTokenLifetime: Int? = nil,
                idTokenLifetime: Int? = nil) {
        self.clientID = clientID
        self.subject = subject
        self.scope = scope
        self.authTime = authTime
        self.flowID = flowID
        self.issueRefreshToken = issueRefreshToken
        self.audience = audience
        self.nonce = nonce
        self.issuesIDToken = issuesIDToken
        self.accessTokenLifetime = accessTokenLifetime
        self.idTokenLifetime = idTokenLifetime
    }

    /// Whether the response carries an id_token (OIDC Core §3.1.3.3): `openid` was granted
    /// and a person authenticated.
    public var wantsIDToken: Bool { issuesIDToken && scope.contains("openid") }
}

/// The stored form of an issued access token: only its SHA-256 is kept.
public struct AccessTokenRecord: Sendable, Equatable {
    public var tokenHash: String
    public var clientID: String
    public var subject: String
    public var scope: ScopeSet
    public var issuedAt: UnixTime
    public var expiresAt: UnixTime
    public var flowID: String
    /// The client's own `aud`, when it has one (opaque tokens are checked against it).
    public var audience: String?

    public init(tokenHash: String, clientID: String, subject: String, scope: ScopeSet, issuedAt: UnixTime, expiresAt: UnixTime, flowID: String,
                audience: String? = nil) {
        self.tokenHash = tokenHash
        self.clientID = clientID
        self.subject = subject
        self.scope = scope
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.flowID = flowID
        self.audience = audience
    }
}

/// A successful token response, RFC 6749 §5.1, plus the records to persist before it is sent.
public struct IssuedTokens: Sendable, Equatable {
    public var accessToken: String
    public var tokenType: String
    public var expiresIn: Int
    public var scope: ScopeSet
    /// OIDC Core §3.1.3.3; nil until signed tokens are configured.
    public var idToken: String?
    /// RFC 6749 §6; nil unless the grant earns one.
    public var refreshToken: String?
    /// Written durably before the response leaves, so an introspection or revocation always
    /// finds a token the client holds.
    public var accessTokenRecord: AccessTokenRecord
    /// The access token's id (JWT `jti`; the SHA-256 of an opaque token), used for revocation.
    public var accessTokenID: String

    public init(accessToken: String, tokenType: String = "Bearer", expiresIn: Int, scope: ScopeSet,
                idToken: String? = nil, refreshToken: String? = nil, accessTokenRecord: AccessTokenRecord, accessTokenID: String? = nil) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.scope = scope
        self.idToken = idToken
        self.refreshToken = refreshToken
        self.accessTokenRecord = accessTokenRecord
        self.accessTokenID = accessTokenID ?? accessTokenRecord.tokenHash
    }

    public var refreshTokenHash: String? { refreshToken.map(Encoding.sha256Hex) }
}

/// Turns a grant into tokens. The opaque issuer below is the default; a signing issuer
/// (JWT access tokens, id_tokens) slots in behind the same protocol.
public protocol TokenIssuer: Sendable {
    func issue(_ grant: TokenGrant, now: UnixTime) throws -> IssuedTokens
}

/// Issues opaque bearer tokens: 256 bits from the CSPRNG, base64url, stored as SHA-256.
public struct OpaqueTokenIssuer: TokenIssuer {
    /// A refresh token: 256 bits from the CSPRNG, base64url; only its SHA-256 is stored.
    public static func newRefreshToken(_ random: any SecureRandom) -> String { Encoding.base64URL(random.bytes(32)) }

    public var accessTokenLifetime: Int
    public var random: any SecureRandom

    public init(accessTokenLifetime: Int, random: any SecureRandom = SystemSecureRandom()) {
        self.accessTokenLifetime = accessTokenLifetime
        self.random = random
    }

    public func issue(_ grant: TokenGrant, now: UnixTime) throws -> IssuedTokens {
        let token = Encoding.base64URL(random.bytes(32))
        let lifetime = grant.accessTokenLifetime ?? accessTokenLifetime
        let record = AccessTokenRecord(
            tokenHash: Encoding.sha256Hex(token), clientID: grant.clientID, subject: grant.subject,
            scope: grant.scope, issuedAt: now, expiresAt: now.adding(seconds: Int64(lifetime)),
            flowID: grant.flowID, audience: grant.audience)
        return IssuedTokens(accessToken: token, expiresIn: lifetime, scope: grant.scope,
                            refreshToken: grant.issueRefreshToken ? Self.newRefreshToken(random) : nil, accessTokenRecord: record)
    }
}
