import DeviceFlow
import DeviceGateTesting
import Testing

/// RFC 7636 PKCE, RFC 6749 §4.1.3 redemption decisions, and RFC 8252 §7.3 redirect matching,
/// one row per case.
struct PKCETests {
    /// RFC 7636 Appendix B.
    @Test func theRFCExampleVerifies() {
        #expect(PKCE.verifies(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.verifies(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        // plain (the verifier as its own challenge) never verifies.
        #expect(!PKCE.verifies(verifier: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
    }

    @Test(arguments: [
        (String(repeating: "a", count: 42), false), (String(repeating: "a", count: 43), true),
        (String(repeating: "a", count: 128), true), (String(repeating: "a", count: 129), false),
        (String(repeating: "a", count: 40) + "-._~", true), (String(repeating: "a", count: 42) + "+", false),
        (String(repeating: "a", count: 42) + " ", false), (String(repeating: "a", count: 42) + "é", false),
    ])
    func verifierSyntax(_ verifier: String, _ valid: Bool) {
        #expect(PKCE.isValidVerifier(verifier) == valid)
    }

    @Test func s256ChallengesAreExactlyFortyThreeBase64URLCharacters() {
        #expect(PKCE.isValidS256Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.isValidS256Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"))
        #expect(!PKCE.isValidS256Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="))
        #expect(!PKCE.isValidS256Challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw~cM"))
    }
}

struct AuthorizationCodeDecisionTests {
    static let t0 = UnixTime(seconds: 1_800_000_000)
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    static func record(challenge: String? = challenge, redeemed: Bool = false) -> AuthorizationCodeRecord {
        AuthorizationCodeRecord(id: String(repeating: "c", count: 64), clientID: "web", subject: "alice", scope: ScopeSet(["openid"]),
                                authTime: t0, createdAt: t0, expiresAt: t0.adding(seconds: 60), redirectURI: "https://app.example/cb",
                                codeChallenge: challenge, nonce: "n-0S6_WzA2Mj", redeemedAt: redeemed ? t0.adding(seconds: 5) : nil)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var record: AuthorizationCodeRecord?
        var client = "web"
        var redirect: String? = "https://app.example/cb"
        var verifier: String? = AuthorizationCodeDecisionTests.verifier
        var atSecond: Int64 = 10
        var expected: AuthorizationCodeDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a good code redeems", record: record(), expected: .redeem),
        Case(name: "unknown code", record: nil, expected: .refuse(.invalidGrant("unknown code"))),
        Case(name: "another client's code", record: record(), client: "other", expected: .refuse(.invalidGrant("code was not issued to this client"))),
        Case(name: "a redeemed code is a replay", record: record(redeemed: true), expected: .replayed),
        Case(name: "a replay is a replay even when expired and with a wrong verifier", record: record(redeemed: true), verifier: "x",
             atSecond: 3600, expected: .replayed),
        Case(name: "a redeemed code in another client's hands is a replay too (stolen)", record: record(redeemed: true), client: "other",
             expected: .replayed),
        Case(name: "expired at exactly 60 s", record: record(), atSecond: 60, expected: .refuse(.invalidGrant("code has expired"))),
        Case(name: "redirect_uri missing", record: record(), redirect: nil,
             expected: .refuse(.invalidGrant("redirect_uri does not match the authorization request"))),
        Case(name: "redirect_uri differs", record: record(), redirect: "https://app.example/cb/",
             expected: .refuse(.invalidGrant("redirect_uri does not match the authorization request"))),
        Case(name: "PKCE: no verifier for a challenged code", record: record(), verifier: nil,
             expected: .refuse(.invalidGrant("code_verifier is required: the authorization request had a code_challenge"))),
        Case(name: "PKCE: wrong verifier", record: record(), verifier: String(repeating: "a", count: 43),
             expected: .refuse(.invalidGrant("code_verifier does not match the code_challenge"))),
        Case(name: "PKCE: plain verifier (the challenge itself)", record: record(), verifier: challenge,
             expected: .refuse(.invalidGrant("code_verifier does not match the code_challenge"))),
        Case(name: "PKCE downgrade: a verifier for a code issued without a challenge", record: record(challenge: nil),
             expected: .refuse(.invalidGrant("code_verifier sent, but the authorization request had no code_challenge"))),
        Case(name: "no PKCE at all (confidential client)", record: record(challenge: nil), verifier: nil, expected: .redeem),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        #expect(AuthorizationCodeDecision.decide(record: c.record, clientID: c.client, redirectURI: c.redirect, codeVerifier: c.verifier,
                                                 now: Self.t0.adding(seconds: c.atSecond)) == c.expected)
    }
}

struct RedirectURIMatchingTests {
    static let client = ClientRegistration(
        clientID: "web", displayName: "Web", kind: .public, allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]),
        grantTypes: [.authorizationCode], redirectURIs: ["https://app.example/cb", "http://127.0.0.1/native", "http://[::1]:8400/v6?x=1",
                                                         "http://localhost:9000/cb", "com.example.app:/oauth"])

    @Test(arguments: [
        ("https://app.example/cb", true),
        ("https://app.example/cb/", false),
        ("https://app.example/cb?x=1", false),
        ("https://app.example/CB", false),
        ("https://APP.example/cb", false),
        ("https://app.example:443/cb", false),
        ("https://app.example/cb#f", false),
        ("https://app.example.evil/cb", false),
        ("https://good@app.example/cb", false),
        ("http://app.example/cb", false),
        // RFC 8252 §7.3: any port on a loopback IP literal, the rest exact.
        ("http://127.0.0.1/native", true),
        ("http://127.0.0.1:51234/native", true),
        ("http://127.0.0.1:1/native", true),
        ("http://127.0.0.1:65536/native", false),
        ("http://127.0.0.1:0/native", false),
        ("http://127.0.0.1:51234/native/x", false),
        ("http://127.0.0.1:51234/other", false),
        ("http://127.0.0.1:51234@evil.example/native", false),
        ("http://127.0.0.1.evil.example/native", false),
        ("https://127.0.0.1:51234/native", false),
        ("http://[::1]:1234/v6?x=1", true),
        ("http://[::1]/v6?x=1", true),
        ("http://[::1]:1234/v6?x=2", false),
        // localhost gets no port exception (RFC 8252 §8.3).
        ("http://localhost:9000/cb", true),
        ("http://localhost:9001/cb", false),
        ("com.example.app:/oauth", true),
        ("com.example.app:/oauth2", false),
    ])
    func match(_ uri: String, _ expected: Bool) {
        #expect(Self.client.matchesRedirectURI(uri) == expected, "\(uri)")
    }
}

struct AuthorizationRequestValidationTests {
    static let challenge = AuthorizationCodeDecisionTests.challenge
    static let clients = ClientRegistry([
        ClientRegistration(clientID: "spa", displayName: "Spa <App>", kind: .public, allowedScopes: ScopeSet(["openid", "profile", "offline_access"]),
                           defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode, .refreshToken],
                           redirectURIs: ["https://app.example/cb", "http://127.0.0.1/cb"]),
        ClientRegistration(clientID: "server", displayName: "Server", kind: .confidential(secretSHA256: Encoding.sha256("s")),
                           allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode],
                           redirectURIs: ["https://server.example/cb"]),
        ClientRegistration(clientID: "tv", displayName: "TV", kind: .public, allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]),
                           redirectURIs: ["https://tv.example/cb"]),
    ])

    static func good(_ overrides: [String: String?] = [:]) -> [String: String?] {
        var p: [String: String?] = ["client_id": "spa", "redirect_uri": "https://app.example/cb", "response_type": "code",
                                    "scope": "openid profile", "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"]
        for (k, v) in overrides { p[k] = v }
        return p
    }

    static func validate(_ p: [String: String?]) -> AuthorizationRequestValidation {
        AuthorizationRequestValidation.validate({ name in
            if name == "duplicated" { throw OAuthError.invalidRequest("duplicated") }
            return p[name] ?? nil
        }, clients: clients)
    }

    @Test func aGoodRequestIsValid() {
        let v = Self.validate(Self.good(["nonce": "n1", "prompt": "login consent", "max_age": "300", "login_hint": "alice"]))
        #expect(v == .valid(AuthorizationRequest(clientID: "spa", redirectURI: "https://app.example/cb", scope: ScopeSet(["openid", "profile"]),
                                                 state: "xyz", nonce: "n1", codeChallenge: Self.challenge, prompt: [.login, .consent],
                                                 maxAge: 300, loginHint: "alice")))
        // The loopback port is kept as sent, so the token request must repeat it exactly.
        guard case .valid(let r) = Self.validate(Self.good(["redirect_uri": "http://127.0.0.1:4711/cb"])) else { Issue.record("loopback"); return }
        #expect(r.redirectURI == "http://127.0.0.1:4711/cb")
        // Omitted scope takes the defaults; a confidential client may skip PKCE.
        guard case .valid(let s) = Self.validate(["client_id": "server", "redirect_uri": "https://server.example/cb", "response_type": "code"]) else {
            Issue.record("confidential without PKCE"); return
        }
        #expect(s.scope == ScopeSet(["openid"]) && s.codeChallenge == nil && s.state == nil)
    }

    /// RFC 6749 §4.1.2.1: a bad client or redirect URI is told to the person, never redirected.
    @Test(arguments: [
        ["client_id": nil], ["client_id": ""], ["client_id": "nobody"], ["redirect_uri": nil],
        ["redirect_uri": "https://evil.example/cb"], ["redirect_uri": "https://app.example/cb/../evil"],
        ["client_id": "server"],
    ] as [[String: String?]])
    func badClientOrRedirectIsAPage(_ overrides: [String: String?]) {
        guard case .pageError(let error) = Self.validate(Self.good(overrides)) else { Issue.record("\(overrides) redirected"); return }
        #expect(!error.reason.isEmpty)
    }

    @Test(arguments: [
        (["response_type": nil], "invalid_request"),
        (["response_type": "token"], "unsupported_response_type"),
        (["response_type": "code id_token"], "unsupported_response_type"),
        (["response_mode": "fragment"], "invalid_request"),
        (["response_mode": "form_post.x"], "invalid_request"),
        (["scope": "openid admin"], "invalid_scope"),
        (["scope": "openid \"x\""], "invalid_scope"),
        (["code_challenge": nil, "code_challenge_method": nil], "invalid_request"),
        (["code_challenge_method": "plain"], "invalid_request"),
        (["code_challenge_method": nil], "invalid_request"),
        (["code_challenge": "short"], "invalid_request"),
        (["code_challenge": nil], "invalid_request"),
        (["prompt": "none login"], "invalid_request"),
        (["prompt": "sometimes"], "invalid_request"),
        (["max_age": "-1"], "invalid_request"),
        (["max_age": "ten"], "invalid_request"),
        (["nonce": String(repeating: "n", count: 2049)], "invalid_request"),
        (["request": "eyJ..."], "request_not_supported"),
        (["request_uri": "https://x"], "request_uri_not_supported"),
        (["registration": "{}"], "registration_not_supported"),
    ] as [([String: String?], String)])
    func otherErrorsGoBackToTheClientWithState(_ overrides: [String: String?], _ code: String) {
        guard case .redirectError(let error, let uri, let state) = Self.validate(Self.good(overrides)) else {
            Issue.record("\(overrides) not redirected"); return
        }
        #expect(error.code == code, "\(overrides): \(error)")
        #expect(uri == "https://app.example/cb" && state == "xyz")
    }

    @Test func aClientWithoutTheGrantIsUnauthorized() {
        guard case .redirectError(let error, _, _) = Self.validate(Self.good(["client_id": "tv", "redirect_uri": "https://tv.example/cb"])) else {
            Issue.record("tv may not use the code flow"); return
        }
        #expect(error.code == "unauthorized_client")
    }

    @Test func aLongStateIsNotEchoed() {
        guard case .redirectError(let error, _, let state) = Self.validate(Self.good(["state": String(repeating: "s", count: 2049)])) else {
            Issue.record("long state"); return
        }
        #expect(error.code == "invalid_request" && state == nil)
    }

    @Test func signInFreshness() {
        let t0 = UnixTime(seconds: 1_800_000_000)
        let plain = AuthorizationRequest(clientID: "spa", redirectURI: "https://app.example/cb", scope: ScopeSet(["openid"]))
        #expect(plain.acceptsSignIn(at: t0, requestedAt: t0.adding(seconds: 100)))
        var maxAge = plain
        maxAge.maxAge = 60
        // Judged at the request: a sign-in 60 s old then is fine, 61 s is not.
        #expect(maxAge.acceptsSignIn(at: t0, requestedAt: t0.adding(seconds: 60)))
        #expect(!maxAge.acceptsSignIn(at: t0, requestedAt: t0.adding(seconds: 61)))
        // A sign-in made for the request is fine however long the decision takes (max_age=0).
        maxAge.maxAge = 0
        #expect(maxAge.acceptsSignIn(at: t0.adding(seconds: 1), requestedAt: t0))
        #expect(!maxAge.acceptsSignIn(at: t0, requestedAt: t0.adding(seconds: 1)))
        var login = plain
        login.prompt = [.login]
        #expect(!login.acceptsSignIn(at: t0, requestedAt: t0.adding(seconds: 1)))
        #expect(login.acceptsSignIn(at: t0.adding(seconds: 1), requestedAt: t0.adding(seconds: 1)))
        #expect(login.asksForReauthentication && maxAge.asksForReauthentication && !plain.asksForReauthentication)
    }

    /// RFC 6749 §4.1.2 / §4.1.2.1 with RFC 9207 `iss`: parameters appended and percent-encoded.
    @Test func responseLocations() {
        #expect(AuthorizationResponse.location("https://app.example/cb", AuthorizationResponse.successParameters(code: "abc", state: "a b&c=d", issuer: "https://i.example/x/"))
                == "https://app.example/cb?code=abc&state=a%20b%26c%3Dd&iss=https%3A%2F%2Fi.example%2Fx%2F")
        #expect(AuthorizationResponse.location("https://app.example/cb?tenant=1", AuthorizationResponse.successParameters(code: "abc", state: nil, issuer: "i"))
                == "https://app.example/cb?tenant=1&code=abc&iss=i")
        #expect(AuthorizationResponse.location("http://127.0.0.1:9/cb", AuthorizationResponse.errorParameters(.invalidScope("no"), state: "s", issuer: "i"))
                == "http://127.0.0.1:9/cb?error=invalid_scope&error_description=no&state=s&iss=i")
        #expect(AuthorizationResponse.formEncode("é\r\n<") == "%C3%A9%0D%0A%3C")
    }
}
