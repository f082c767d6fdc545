import DeviceFlow

/// Issues signed tokens: JWT access tokens (RFC 9068), OpenID Connect id_tokens (OIDC Core §2)
/// when `openid` was granted, and opaque rotating refresh tokens when the grant earns one.
public struct SignedTokenIssuer: TokenIssuer {
    public var issuer: String
    /// RFC 9068 §2.2 `aud`: the resource servers the access token is for.
    public var audience: String
    public var accessTokenLifetime: Int
    public var idTokenLifetime: Int
    public var keys: KeyRing
    public var users: [String: UserClaims]
    public var random: any SecureRandom

    public init(issuer: String, audience: String, accessTokenLifetime: Int, idTokenLifetime: Int, keys: KeyRing,
                users: [String: UserClaims], random: any SecureRandom = SystemSecureRandom()) {
        self.issuer = issuer
        self.audience = audience
        self.accessTokenLifetime = accessTokenLifetime
        self.idTokenLifetime = idTokenLifetime
        self.keys = keys
        self.users = users
        self.random = random
    }

    public func issue(_ grant: TokenGrant, now: UnixTime) throws -> IssuedTokens {
        let key = try keys.activeKey(now: now)
        let jti = Encoding.base64URL(random.bytes(16))
        let lifetime = grant.accessTokenLifetime ?? accessTokenLifetime
        let expiresAt = now.adding(seconds: Int64(lifetime))

        // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; plus scope and auth_time.
        var access = JSONObject()
        access.add("iss", issuer)
        access.add("sub", grant.subject)
        access.add("aud", grant.audience ?? audience)
        access.add("exp", Int(expiresAt.seconds))
        access.add("iat", Int(now.seconds))
        access.add("auth_time", Int(grant.authTime.seconds))
        access.add("jti", jti)
        access.add("client_id", grant.clientID)
        access.add("scope", grant.scope.description)
        let accessToken = try JWT.sign(payload: access.finished(), type: "at+jwt", key: key)

        var idToken: String?
        if grant.wantsIDToken {
            idToken = try JWT.sign(payload: idTokenClaims(grant, now: now).finished(), type: "JWT", key: key)
        }
        let record = AccessTokenRecord(tokenHash: Encoding.sha256Hex(accessToken), clientID: grant.clientID, subject: grant.subject,
                                       scope: grant.scope, issuedAt: now, expiresAt: expiresAt, flowID: grant.flowID,
                                       audience: grant.audience)
        return IssuedTokens(accessToken: accessToken, expiresIn: lifetime, scope: grant.scope, idToken: idToken,
                            refreshToken: grant.issueRefreshToken ? OpaqueTokenIssuer.newRefreshToken(random) : nil,
                            accessTokenRecord: record, accessTokenID: jti)
    }

    /// OIDC Core §2 and §5.4: the required claims, then `email`/`email_verified` for scope
    /// email and `name`/`preferred_username` for scope profile, from the user's claims.
    func idTokenClaims(_ grant: TokenGrant, now: UnixTime) -> JSONObject {
        var o = JSONObject()
        o.add("iss", issuer)
        o.add("sub", grant.subject)
        o.add("aud", grant.clientID)
        o.add("exp", Int(now.adding(seconds: Int64(grant.idTokenLifetime ?? idTokenLifetime)).seconds))
        o.add("iat", Int(now.seconds))
        o.add("auth_time", Int(grant.authTime.seconds))
        // OIDC Core §3.1.3.6 and §2: the nonce of the authorization request, unmodified.
        if let nonce = grant.nonce { o.add("nonce", nonce) }
        o.add("azp", grant.clientID)
        Self.addProfileClaims(to: &o, subject: grant.subject, scope: grant.scope, users: users)
        return o
    }

    /// The scope-dependent claims shared by the id_token and userinfo (OIDC Core §5.4).
    public static func addProfileClaims(to o: inout JSONObject, subject: String, scope: ScopeSet, users: [String: UserClaims]) {
        let claims = users[subject] ?? UserClaims()
        if scope.contains("profile") {
            o.add("preferred_username", subject)
            if let name = claims.name { o.add("name", name) }
        }
        if scope.contains("email"), let email = claims.email {
            o.add("email", email)
            o.add("email_verified", claims.emailVerified)
        }
    }
}

/// Opaque access tokens with signed id_tokens: for operators who want every access token
/// checked against the state directory (instant revocation) but still need OIDC.
public struct OpaqueWithIDTokenIssuer: TokenIssuer {
    public var opaque: OpaqueTokenIssuer
    public var signed: SignedTokenIssuer

    public init(opaque: OpaqueTokenIssuer, signed: SignedTokenIssuer) {
        self.opaque = opaque
        self.signed = signed
    }

    public func issue(_ grant: TokenGrant, now: UnixTime) throws -> IssuedTokens {
        var tokens = try opaque.issue(grant, now: now)
        if grant.wantsIDToken {
            tokens.idToken = try JWT.sign(payload: signed.idTokenClaims(grant, now: now).finished(), type: "JWT", key: signed.keys.activeKey(now: now))
        }
        return tokens
    }
}
