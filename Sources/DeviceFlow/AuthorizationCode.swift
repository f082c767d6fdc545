/// The durable record of one authorization code (RFC 6749 §4.1.2), keyed by SHA-256 of the
/// code: the code itself is never stored.
public struct AuthorizationCodeRecord: Sendable, Equatable {
    /// SHA-256(code), lowercase hex.
    public var id: String
    /// The client the code was issued to; a redemption by any other is `invalid_grant`.
    public var clientID: String
    public var subject: String
    public var scope: ScopeSet
    /// When the person authenticated (OIDC `auth_time`).
    public var authTime: UnixTime
    public var createdAt: UnixTime
    /// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED";
    /// ours live `AuthorizationCodes.lifetime` (60 s).
    public var expiresAt: UnixTime
    /// The `redirect_uri` of the authorization request; the token request must repeat it
    /// (RFC 6749 §4.1.3).
    public var redirectURI: String
    /// RFC 7636 §4.2 `code_challenge` (S256 only); nil when a confidential client sent none.
    public var codeChallenge: String?
    /// OIDC Core §3.1.2.1 `nonce`, copied into the id_token.
    public var nonce: String?
    /// Set when tokens were issued: the code can never be redeemed again.
    public var redeemedAt: UnixTime?
    /// What redemption issued, so a second use can revoke it (RFC 6749 §4.1.2).
    public var issued: DeviceFlowRecord.IssuedGrant?

    public init(id: String, clientID: String, subject: String, scope: ScopeSet, authTime: UnixTime, createdAt: UnixTime,
                expiresAt: UnixTime, redirectURI: String, codeChallenge: String?, nonce: String?,
                redeemedAt: UnixTime? = nil, issued: DeviceFlowRecord.IssuedGrant? = nil) {
        self.id = id
        self.clientID = clientID
        self.subject = subject
        self.scope = scope
        self.authTime = authTime
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.nonce = nonce
        self.redeemedAt = redeemedAt
        self.issued = issued
    }

    /// How long a store keeps a code after it expired: a replay within this time still finds
    /// the record and revokes what it produced. Later, the record is gone and the replay is an
    /// unknown code (the access tokens it produced have expired by then at the latest, given
    /// the 86,400 s ceiling on `lifetimes.access_token`).
    public static let retentionAfterExpiry: Int64 = 86_400

    /// When a store may forget this record.
    public var collectableAt: UnixTime { expiresAt.adding(seconds: Self.retentionAfterExpiry) }
}

public enum AuthorizationCodes {
    /// RFC 6749 §4.1.2 recommends at most 10 minutes; the issue asks 60 s.
    public static let lifetime = 60

    /// A new code: 256 bits from the CSPRNG, base64url (43 characters), and its record id.
    public static func draw(random: some SecureRandom) -> (code: String, id: String) {
        let code = Encoding.base64URL(random.bytes(32))
        return (code, Encoding.sha256Hex(code))
    }
}

/// PKCE, RFC 7636. Only S256: `plain` offers no protection against a code intercepted on the
/// way back (RFC 9700 §2.1.1: "the transformation method S256 ... SHOULD be used").
public enum PKCE {
    /// RFC 7636 §4.1: 43-128 characters of `[A-Za-z0-9-._~]`. The same syntax holds for an
    /// S256 `code_challenge` (43 base64url characters) and is checked for it as well.
    public static func isValidVerifier(_ text: String) -> Bool {
        (43...128).contains(text.utf8.count) && text.utf8.allSatisfy(isUnreserved)
    }

    /// An S256 challenge is BASE64URL(SHA256(verifier)) without padding: exactly 43 characters.
    public static func isValidS256Challenge(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { isUnreserved($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") }
    }

    /// RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge,
    /// compared in constant time.
    public static func verifies(verifier: String, challenge: String) -> Bool {
        guard isValidVerifier(verifier) else { return false }
        let computed = Encoding.base64URL(Encoding.sha256(verifier))
        return constantTimeEquals(Array(computed.utf8), Array(challenge.utf8))
    }

    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
    }
}

/// The token endpoint's decision for an `authorization_code` grant: RFC 6749 §4.1.3 with
/// RFC 7636 §4.6. Pure: the caller holds the code's lock and acts on the result.
public enum AuthorizationCodeDecision: Sendable, Equatable {
    case refuse(OAuthError)
    /// Issue tokens, then mark the code redeemed.
    case redeem
    /// The code was already redeemed: refuse and revoke what it produced (RFC 6749 §4.1.2).
    case replayed

    /// Order of checks:
    /// 1. unknown code: `invalid_grant`;
    /// 2. already redeemed: `replayed`, expired or not, by whichever client, whatever else the
    ///    request says (§4.1.2: "If an authorization code is used more than once, the
    ///    authorization server MUST deny the request and SHOULD revoke ... all tokens
    ///    previously issued based on that authorization code"; a spent code in another
    ///    client's hands means it was stolen);
    /// 3. another client's: `invalid_grant` (§4.1.3 "ensure that the
    ///    authorization code was issued to the authenticated confidential client, or if the
    ///    client is public, ensure that the code was issued to client_id in the request");
    /// 4. expired: `invalid_grant`;
    /// 5. `redirect_uri` not identical to the authorization request's: `invalid_grant`;
    /// 6. PKCE: a code issued with a challenge needs a verifier that matches it; a code
    ///    issued without one refuses a verifier (RFC 9700 §4.8.2, PKCE downgrade): `invalid_grant`.
    public static func decide(record: AuthorizationCodeRecord?, clientID: String, redirectURI: String?, codeVerifier: String?,
                              now: UnixTime) -> AuthorizationCodeDecision {
        guard let record else { return .refuse(.unknownAuthorizationCode) }
        if record.redeemedAt != nil { return .replayed }
        guard record.clientID == clientID else { return .refuse(.invalidGrant("code was not issued to this client")) }
        guard now < record.expiresAt else { return .refuse(.invalidGrant("code has expired")) }
        guard let redirectURI, redirectURI == record.redirectURI else {
            return .refuse(.invalidGrant("redirect_uri does not match the authorization request"))
        }
        switch (record.codeChallenge, codeVerifier) {
        case (nil, nil):
            break
        case (nil, .some):
            return .refuse(.invalidGrant("code_verifier sent, but the authorization request had no code_challenge"))
        case (.some, nil):
            return .refuse(.invalidGrant("code_verifier is required: the authorization request had a code_challenge"))
        case (.some(let challenge), .some(let verifier)):
            guard PKCE.verifies(verifier: verifier, challenge: challenge) else {
                return .refuse(.invalidGrant("code_verifier does not match the code_challenge"))
            }
        }
        return .redeem
    }
}
