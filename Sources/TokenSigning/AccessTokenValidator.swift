import DeviceFlow

/// What a valid access token says.
public struct ValidatedAccessToken: Sendable, Equatable {
    public var subject: String
    public var clientID: String
    public var scope: ScopeSet
    public var issuedAt: UnixTime
    public var expiresAt: UnixTime
    public var tokenID: String
    /// RFC 7519 §4.1.3 `aud`, a string or an array in the JWT; nil for opaque tokens, which
    /// are this server's own and count as issued for its configured audience.
    public var audience: [String]?
}

/// Validates bearer access tokens for userinfo, introspection and the nginx gateway: a JWT's
/// signature, `typ` at+jwt, issuer, audience, expiry and revocation (RFC 9068 §4), or an
/// opaque token's stored record. No exclusive lock is taken: revocation is one stat(2) for
/// the token and one open(2) for its subject (`devicegate users remove`).
///
/// Verified JWTs are cached per worker by SHA-256 for their remaining life, so a busy API pays
/// the signature check once per token per worker. Only what the signature proves is cached:
/// the audience, the token's revocation and its subject's revocation are checked on every
/// request, so a revocation by any process is seen by every worker at once.
public final class AccessTokenValidator: @unchecked Sendable {
    public enum Failure: Error, Equatable {
        case invalid(String)
        case expired
        case revoked
        /// RFC 9068 §4: "The resource server MUST validate that the aud claim contains a
        /// resource indicator value corresponding to an identifier the resource server expects
        /// for itself." The token is well formed but not for this resource.
        case wrongAudience
        /// The store could not say whether the token is revoked (a database that is down):
        /// answered 503, never taken as "not revoked".
        case unavailable(String)
    }

    let issuer: String
    /// The audience a resource expects when it names none (`tokens.audience`, else the issuer).
    public let audience: String
    let keys: KeyRing?
    let store: any FlowStorage
    private var cache: [String: ValidatedAccessToken] = [:]
    private let cacheLimit = 10_000

    public init(issuer: String, audience: String? = nil, keys: KeyRing?, store: any FlowStorage) {
        self.issuer = issuer
        self.audience = audience ?? issuer
        self.keys = keys
        self.store = store
    }

    /// Which `aud` a caller accepts (RFC 9068 §4).
    public enum AudienceCheck: Sendable, Equatable {
        /// The configured audience: gateway locations that name none.
        case configured
        /// A resource's own identifier: a gateway location's `$devicegate_audience`.
        case named(String)
        /// One of these: userinfo, which takes a token for any audience this issuer issues
        /// for (`tokens.audience` and each client's own `audience`).
        case oneOf([String])
        /// Any: introspection and revocation report on this issuer's tokens whatever they are for.
        case any
    }

    /// - Parameter audience: the token's `aud` must contain this (RFC 9068 §4).
    public func validate(_ token: String, now: UnixTime, audience check: AudienceCheck = .configured) -> Result<ValidatedAccessToken, Failure> {
        guard !token.isEmpty, token.utf8.count < 16_384 else { return .failure(.invalid("malformed token")) }
        let hash = Encoding.sha256Hex(token)
        let validated: ValidatedAccessToken
        if let cached = cache[hash] {
            validated = cached
        } else {
            switch decode(token, hash: hash, now: now) {
            case .success(let v): validated = v
            case .failure(let f): return .failure(f)
            }
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[hash] = validated
        }
        if now >= validated.expiresAt {
            cache[hash] = nil
            return .failure(.expired)
        }
        switch check {
        case .any: break
        case .oneOf(let accepted):
            guard (validated.audience ?? [audience]).contains(where: accepted.contains) else { return .failure(.wrongAudience) }
        case .configured, .named:
            let expected = if case .named(let name) = check { name } else { audience }
            guard (validated.audience ?? [audience]).contains(expected) else { return .failure(.wrongAudience) }
        }
        do {
            if try store.isAccessTokenRevoked(id: validated.tokenID) { return .failure(.revoked) }
            if try store.isRevoked(subject: validated.subject, at: validated.issuedAt) { return .failure(.revoked) }
        } catch {
            return .failure(.unavailable("\(error)"))
        }
        return .success(validated)
    }

    private func decode(_ token: String, hash: String, now: UnixTime) -> Result<ValidatedAccessToken, Failure> {
        if token.contains("."), let keys {
            let verified: JWT.Verified
            do {
                verified = try JWT.verify(token) { keys.verificationKey(kid: $0, now: now) }
            } catch {
                return .failure(.invalid(error.description))
            }
            guard verified.type?.lowercased() == "at+jwt" || verified.type?.lowercased() == "application/at+jwt" else {
                return .failure(.invalid("not an access token (typ must be at+jwt)"))
            }
            guard verified.string("iss") == issuer else { return .failure(.invalid("wrong issuer")) }
            guard let sub = verified.string("sub"), let client = verified.string("client_id"), let jti = verified.string("jti"),
                  let exp = verified.int("exp"), let iat = verified.int("iat"), let aud = verified.strings("aud") else {
                return .failure(.invalid("missing required claims"))
            }
            return .success(ValidatedAccessToken(
                subject: sub, clientID: client, scope: ScopeSet.parse(verified.string("scope") ?? "") ?? ScopeSet(),
                issuedAt: UnixTime(seconds: iat), expiresAt: UnixTime(seconds: exp), tokenID: jti, audience: aud))
        }
        guard let record = try? store.accessToken(hash: hash) else { return .failure(.invalid("unknown token")) }
        return .success(ValidatedAccessToken(subject: record.subject, clientID: record.clientID, scope: record.scope,
                                             issuedAt: record.issuedAt, expiresAt: record.expiresAt, tokenID: record.tokenHash,
                                             audience: record.audience.map { [$0] }))
    }
}
