/// One chain of refresh tokens descending from a single approval (RFC 9700 §4.14.2 "refresh
/// token rotation"). Only the newest token of a family is valid; presenting an older one means
/// a token was stolen or replayed, and the whole family is revoked.
public struct RefreshFamily: Sendable, Equatable {
    /// Random 256-bit id, lowercase hex.
    public var id: String
    public var clientID: String
    public var subject: String
    /// The scope of the original grant: a refresh may narrow it for the new access token,
    /// never widen it (RFC 6749 §6).
    public var scope: ScopeSet
    public var authTime: UnixTime
    public var createdAt: UnixTime
    public var expiresAt: UnixTime
    /// SHA-256 of the only refresh token of this family that may be used.
    public var currentTokenHash: String
    public var revokedAt: UnixTime?
    /// Access tokens issued from this family (jti, expiry), revoked with it.
    public var accessTokens: [IssuedAccessToken]
    /// The device (or web app) the grant was made for: the device authorization request's
    /// address and product, or the token request's for an authorization code. nil for families
    /// written before it was kept.
    public var requester: DeviceRequester?
    /// The last refresh: when, and from which address ("Your devices": last used).
    public var lastUsedAt: UnixTime?
    public var lastUsedFrom: String?

    public struct IssuedAccessToken: Sendable, Equatable {
        public var id: String
        public var expiresAt: UnixTime
        public init(id: String, expiresAt: UnixTime) { self.id = id; self.expiresAt = expiresAt }
    }

    public init(id: String, clientID: String, subject: String, scope: ScopeSet, authTime: UnixTime, createdAt: UnixTime,
                expiresAt: UnixTime, currentTokenHash: String, revokedAt: UnixTime? = nil, accessTokens: [IssuedAccessToken] = [],
                requester: DeviceRequester? = nil, lastUsedAt: UnixTime? = nil, lastUsedFrom: String? = nil) {
        self.id = id
        self.clientID = clientID
        self.subject = subject
        self.scope = scope
        self.authTime = authTime
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.currentTokenHash = currentTokenHash
        self.revokedAt = revokedAt
        self.accessTokens = accessTokens
        self.requester = requester
        self.lastUsedAt = lastUsedAt
        self.lastUsedFrom = lastUsedFrom
    }

    /// Whether the grant can still be used: not revoked, not expired. ("Your devices" lists
    /// these; the operator's `grants list` shows the others too, until they are collected.)
    public func isLive(at now: UnixTime) -> Bool { revokedAt == nil && now < expiresAt }

    /// Remembers an access token, keeping only those not yet expired.
    public mutating func record(_ token: IssuedAccessToken, now: UnixTime) {
        accessTokens = accessTokens.filter { $0.expiresAt > now } + [token]
    }
}

/// The refresh_token grant's decision, RFC 6749 §6 with RFC 9700 §4.14 rotation.
public enum RefreshDecision: Sendable, Equatable {
    case refuse(OAuthError)
    /// The presented token was already rotated away: revoke the family.
    case reuseDetected
    case rotate(scope: ScopeSet)

    public static func decide(family: RefreshFamily?, presentedHash: String, clientID: String, requestedScope: ScopeSet?, now: UnixTime) -> RefreshDecision {
        guard let family else { return .refuse(.unknownRefreshToken) }
        guard family.clientID == clientID else { return .refuse(.invalidGrant("refresh_token was not issued to this client")) }
        if family.revokedAt != nil { return .refuse(.invalidGrant("refresh_token has been revoked")) }
        if now >= family.expiresAt { return .refuse(.invalidGrant("refresh_token has expired")) }
        guard constantTimeEquals(Array(family.currentTokenHash.utf8), Array(presentedHash.utf8)) else { return .reuseDetected }
        guard let requested = requestedScope, !requested.isEmpty else { return .rotate(scope: family.scope) }
        let wider = requested.subtracting(family.scope)
        guard wider.isEmpty else { return .refuse(.invalidScope("a refresh may not widen the scope: \(wider.joined(separator: " "))")) }
        return .rotate(scope: requested)
    }
}
