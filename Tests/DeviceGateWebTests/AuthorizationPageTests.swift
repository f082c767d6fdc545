import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import Observability
import Testing

/// The authorization endpoint, its sign-in and consent page, and RP-initiated logout
/// (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1.2, RFC 9207, OIDC RP-Initiated Logout 1.0), on
/// the memory backend through the assembled app.
@Suite struct AuthorizationPageTests {
    static let authorize = "/application/o/authorize/"
    static let endSession = "/application/o/end-session/"
    static let page = "/device/authorize"
    static let callback = "https://app.example/cb"
    static let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789"
    static var challenge: String { Encoding.base64URL(Encoding.sha256(verifier)) }

    static func fixture(_ adjust: @escaping (inout DeviceGateConfiguration) -> Void = { _ in }) throws -> WebFixture {
        try WebFixture { config, _ in
            config.clients += [
                ClientRegistration(clientID: "webapp", displayName: "Web App", kind: .public,
                                   allowedScopes: ScopeSet(["openid", "profile", "email"]), defaultScopes: ScopeSet(["openid"]),
                                   grantTypes: [.authorizationCode, .refreshToken], redirectURIs: [callback, "http://127.0.0.1/loop"],
                                   postLogoutRedirectURIs: ["https://app.example/bye"]),
                ClientRegistration(clientID: "trusted", displayName: "Trusted App", kind: .confidential(secretSHA256: Encoding.sha256("trusted-secret-1")),
                                   allowedScopes: ScopeSet(["openid", "profile"]), defaultScopes: ScopeSet(["openid"]),
                                   grantTypes: [.authorizationCode], redirectURIs: ["https://trusted.example/cb"], skipsConsent: true),
                // skip_consent on a public client (check-config refuses it): never honoured.
                ClientRegistration(clientID: "native-skip", displayName: "Native App", kind: .public,
                                   allowedScopes: ScopeSet(["openid", "profile"]), defaultScopes: ScopeSet(["openid"]),
                                   grantTypes: [.authorizationCode], redirectURIs: ["http://127.0.0.1/cb"], skipsConsent: true),
                ClientRegistration(clientID: "hostile", displayName: "<img src=x onerror=alert(1)>", kind: .public,
                                   allowedScopes: ScopeSet(["openid", "profile"]), defaultScopes: ScopeSet(["openid"]),
                                   grantTypes: [.authorizationCode], redirectURIs: ["https://hostile.example/cb"]),
            ]
            adjust(&config)
        }
    }

    static func query(client: String = "webapp", redirect: String = callback, state: String? = "st-1", extra: [(String, String)] = [],
                      pkce: Bool = true) -> String {
        var fields = [("response_type", "code"), ("client_id", client), ("redirect_uri", redirect), ("scope", "openid profile")]
        if let state { fields.append(("state", state)) }
        if pkce { fields += [("code_challenge", challenge), ("code_challenge_method", "S256")] }
        return (fields + extra).map { "\($0.0.formEncoded)=\($0.1.formEncoded)" }.joined(separator: "&")
    }

    /// The parameters of a redirect's query, decoded.
    static func parameters(_ location: String) -> [String: String] {
        guard let q = location.split(separator: "?", maxSplits: 1).dropFirst().first, let fields = try? FormDecoding.decode(Array(q.utf8))
        else { return [:] }
        return Dictionary(fields.pairs, uniquingKeysWith: { a, _ in a })
    }

    /// Signs in on the sign-in page the browser shows (`last`), and returns the response.
    @discardableResult
    static func signIn(_ browser: Browser, password: String = WebFixture.alicePassword) throws -> HTTPResponse {
        let sealed = try #require(browser.last?.bodyText.inputValue("request"))
        return browser.post(page, [("request", sealed), ("username", "alice"), ("password", password)])
    }

    @discardableResult
    static func decide(_ browser: Browser, _ action: String, csrf: String? = nil) throws -> HTTPResponse {
        let sealed = try #require(browser.last?.bodyText.inputValue("request"))
        return browser.post(page, [("request", sealed), ("action", action)], csrf: csrf)
    }

    static func redeem(_ f: WebFixture, code: String, verifier: String = verifier) -> HTTPResponse {
        let body = "grant_type=authorization_code&client_id=webapp&code=\(code.formEncoded)&redirect_uri=\(callback.formEncoded)&code_verifier=\(verifier)"
        return f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded",
                                        body: Array(body.utf8)))
    }

    static func payload(ofJWT token: String) -> String {
        let part = token.split(separator: ".").dropFirst().first.map(String.init) ?? ""
        var bits: UInt32 = 0, count = 0
        var out: [UInt8] = []
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for c in part.utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return "" }
            bits = (bits << 6) | UInt32(v)
            count += 6
            if count >= 8 { count -= 8; out.append(UInt8((bits >> UInt32(count)) & 0xFF)) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: The whole flow

    @Test func authorizeSignInConsentRedirectAndRedeem() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        let first = browser.get(Self.authorize, query: Self.query(extra: [("nonce", "n-0S6_WzA2Mj")]))
        #expect(first.status == 303)
        #expect(first.header("Location")?.hasPrefix("/device/authorize?request=") == true)
        let signIn = try #require(browser.last)
        #expect(signIn.status == 200)
        #expect(signIn.bodyText.contains("Web App") && signIn.bodyText.contains("name=\"password\""))
        let consent = try Self.signIn(browser)
        #expect(consent.status == 200)
        #expect(consent.bodyText.contains("value=\"approve\""))
        #expect(consent.bodyText.contains("See your name and basic profile"))
        #expect(consent.bodyText.contains("<strong class=\"return-host\">app.example</strong>"))
        let approved = try Self.decide(browser, "approve")
        #expect(approved.status == 303)
        let location = try #require(approved.header("Location"))
        #expect(location.hasPrefix(Self.callback + "?code="))
        let p = Self.parameters(location)
        #expect(p["state"] == "st-1")
        #expect(p["iss"] == f.config.issuer)
        let code = try #require(p["code"])
        #expect(f.audit.kinds() == [.signInSucceeded, .flowApproved])
        #expect(f.audit.events[1].details.contains { $0 == ("via", "authorization_code") })
        #expect(f.audit.events[1].clientID == "webapp" && f.audit.events[1].user == "alice")

        let tokens = Self.redeem(f, code: code)
        #expect(tokens.status == 200, "\(tokens.bodyText)")
        let idToken = try #require(jsonField(tokens.bodyText, "id_token"))
        let claims = Self.payload(ofJWT: idToken)
        #expect(claims.contains("\"nonce\":\"n-0S6_WzA2Mj\""))
        #expect(claims.contains("\"sub\":\"alice\""))
        // Single use.
        #expect(jsonField(Self.redeem(f, code: code).bodyText, "error") == "invalid_grant")
    }

    @Test func postToTheEndpointWorksLikeGet() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        let r = browser.send("POST", Self.authorize, body: Self.query())
        #expect(r.status == 303)
        #expect(r.header("Location")?.hasPrefix("/device/authorize?request=") == true)
        #expect(browser.last?.bodyText.contains("name=\"password\"") == true)
    }

    @Test func denyRedirectsAccessDeniedWithStateAndIssuesNothing() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        try Self.signIn(browser)
        let denied = try Self.decide(browser, "deny")
        let p = Self.parameters(try #require(denied.header("Location")))
        #expect(p["error"] == "access_denied" && p["state"] == "st-1" && p["iss"] == f.config.issuer)
        #expect(p["code"] == nil)
        #expect(f.audit.kinds() == [.signInSucceeded, .flowDenied])
    }

    @Test func aWrongPasswordShowsTheFormAgainAndIsCounted() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        let r = try Self.signIn(browser, password: "wrong")
        #expect(r.status == 403)
        #expect(r.bodyText.contains("Wrong username or password.") && r.bodyText.contains("name=\"request\""))
        #expect(f.audit.kinds() == [.signInFailed])
        #expect(r.header("Location") == nil)
    }

    // MARK: Refusals

    @Test(arguments: [
        ("unknown client", "client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code"),
        ("unregistered redirect", "client_id=webapp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code"),
        ("redirect with extra path", "client_id=webapp&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F..%2Fx&response_type=code"),
        ("missing redirect", "client_id=webapp&response_type=code"),
        ("repeated client", "client_id=webapp&client_id=webapp&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code"),
        ("garbled", "client_id=%ZZ"),
    ])
    func aBadClientOrRedirectGetsAPageNeverARedirect(_ name: String, _ query: String) throws {
        let f = try Self.fixture()
        let r = Browser(f).get(Self.authorize, query: query)
        #expect(r.status == 400, "\(name)")
        #expect(r.header("Location") == nil, "\(name)")
        #expect(r.bodyText.contains("This sign-in request cannot be used"), "\(name)")
        #expect(!r.bodyText.contains("evil.example"), "\(name)")
    }

    @Test(arguments: [
        ("unsupported_response_type", [("response_type", "token")], true),
        ("invalid_request", [("code_challenge_method", "plain")], false),
        ("invalid_request", [], false),
        ("invalid_scope", [("scope", "admin")], true),
        ("invalid_request", [("prompt", "none login")], true),
    ] as [(String, [(String, String)], Bool)])
    func errorsGoBackToTheClientWithStateAndIss(_ error: String, _ extra: [(String, String)], _ pkce: Bool) throws {
        let f = try Self.fixture()
        var query = Self.query(pkce: pkce)
        // Replace what `extra` names (response_type, scope); the plain case adds a challenge.
        for (name, value) in extra {
            if name == "code_challenge_method" { query += "&code_challenge=\(Self.verifier)&code_challenge_method=\(value)"; continue }
            query = query.split(separator: "&").filter { !$0.hasPrefix(name + "=") }.joined(separator: "&") + "&\(name)=\(value.formEncoded)"
        }
        let r = Browser(f).get(Self.authorize, query: query)
        #expect(r.status == 303)
        let location = try #require(r.header("Location"))
        #expect(location.hasPrefix(Self.callback + "?"))
        let p = Self.parameters(location)
        #expect(p["error"] == error, "\(p)")
        #expect(p["state"] == "st-1" && p["iss"] == f.config.issuer)
        #expect(p["code"] == nil)
    }

    @Test(arguments: ["", "garbage", "a.b", "x%2E"])
    func aGarbledSealGetsAPage(_ sealed: String) throws {
        let f = try Self.fixture()
        let r = Browser(f).get(Self.page, query: "request=\(sealed)")
        #expect(r.status == 400)
        #expect(r.header("Location") == nil)
    }

    @Test func aTamperedOrExpiredSealGetsAPageNeverARedirect() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        let sealed = try #require(browser.last?.bodyText.inputValue("request"))
        let parts = sealed.split(separator: ".").map(String.init)
        // The payload pointed at another redirect URI, under the old MAC.
        let payload = "v=1&client_id=webapp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&requested_at=0&expires_at=99999999999999"
        let forged = Encoding.base64URL(Array(payload.utf8)) + "." + parts[1]
        for bad in [forged, parts[0] + "." + String(parts[1].reversed())] {
            let r = browser.get(Self.page, query: "request=\(bad)")
            #expect(r.status == 400)
            #expect(r.bodyText.contains("not valid"))
            let post = browser.post(Self.page, [("request", bad), ("username", "alice"), ("password", WebFixture.alicePassword)])
            #expect(post.status == 400 && post.header("Location") == nil)
        }
        #expect(f.audit.kinds().isEmpty, "a forged seal reached the sign-in")
        // The good one still works, until its ten minutes are over.
        #expect(browser.get(Self.page, query: "request=\(sealed)").status == 200)
        f.clock.advance(seconds: 601)
        let expired = browser.get(Self.page, query: "request=\(sealed)")
        #expect(expired.status == 400 && expired.bodyText.contains("expired"))
    }

    /// RFC 8252 §8.6: a public client's identity cannot be assured, so `skip_consent` on one
    /// is never honoured: a local program on any loopback port would get codes silently.
    @Test func aPublicClientNeverSkipsConsent() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query(client: "native-skip", redirect: "http://127.0.0.1:6666/cb"))
        try Self.signIn(browser)
        #expect(browser.last?.status == 200 && browser.last?.header("Location") == nil, "a code without the consent page")
        let none = browser.get(Self.authorize, query: Self.query(client: "native-skip", redirect: "http://127.0.0.1:6666/cb", extra: [("prompt", "none")]))
        #expect(Self.parameters(try #require(none.header("Location")))["error"] == "consent_required")
    }

    /// A request whose sealed form would pass nginx's 8 KiB request line is the client's error,
    /// at its redirect URI, never nginx's 414 page.
    @Test func aRequestTooLargeToSealIsInvalidRequest() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        let long = String(repeating: "\"<&é", count: AuthorizationRequest.maximumParameterBytes / 5)
        let r = browser.get(Self.authorize, query: Self.query(state: long, extra: [("nonce", long), ("login_hint", long)]))
        let p = Self.parameters(try #require(r.header("Location")))
        #expect(r.status == 303 && p["error"] == "invalid_request" && p["state"] == long)
    }

    /// OAuth 2.0 Form Post Response Mode §2: the code arrives as POSTed form fields, through a
    /// page whose only script is the submit (allowed by its hash) and whose only form target is
    /// the redirect URI's origin; errors go the same way.
    @Test func formPostResponseMode() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query(state: "a\"<b", extra: [("response_mode", "form_post")]))
        try Self.signIn(browser)
        let r = try Self.decide(browser, "approve")
        #expect(r.status == 200 && r.header("Location") == nil)
        let html = r.bodyText
        #expect(html.contains("<form method=\"post\" action=\"https://app.example/cb\">"))
        #expect(html.contains("<input type=\"hidden\" name=\"state\" value=\"a&quot;&lt;b\">"))
        #expect(html.contains("name=\"iss\" value=\"https://auth.example.com/application/o/devicegate/\""))
        let code = try #require(html.inputValue("code"))
        #expect(Self.redeem(f, code: code).status == 200)
        let csp = try #require(r.header("Content-Security-Policy"))
        // The hash of "document.forms[0].submit();", computed outside Swift.
        #expect(csp.contains("script-src 'sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ='"))
        #expect(csp.contains("form-action https://app.example;") && !csp.contains("'self'"))
        #expect(html.contains("<script>document.forms[0].submit();</script>"))
        // An error for a form_post request is posted too.
        let none = Browser(f).get(Self.authorize, query: Self.query(extra: [("response_mode", "form_post"), ("prompt", "none")]))
        #expect(none.status == 200 && none.bodyText.inputValue("error") == "login_required")
    }

    /// OIDC Core §3.1.2.1: `max_age=0` means a fresh sign-in, and after it the decision is made
    /// however long the person takes (not the password form again and again).
    @Test func maxAgeZeroAsksOnceAndThenDecides() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query(extra: [("max_age", "0")]))
        try Self.signIn(browser)
        f.clock.advance(seconds: 30)
        let p = Self.parameters(try #require(try Self.decide(browser, "approve").header("Location")))
        #expect(p["code"] != nil)
    }

    @Test func theLongestAcceptedRequestSurvivesItsSeal() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        let long = String(repeating: "\"<&é", count: 90)
        browser.get(Self.authorize, query: Self.query(state: long, extra: [("nonce", long), ("login_hint", long)]))
        #expect(browser.last?.status == 200)
        try Self.signIn(browser)
        let p = Self.parameters(try #require(try Self.decide(browser, "approve").header("Location")))
        #expect(p["state"] == long)
        let code = try #require(p["code"])
        #expect(Self.redeem(f, code: code).status == 200)
    }

    @Test func theConsentPostNeedsTheCSRFToken() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        try Self.signIn(browser)
        let sealed = try #require(browser.last?.bodyText.inputValue("request"))
        let good = try #require(browser.csrf)
        let wrong = (good.hasPrefix("0") ? "1" : "0") + String(good.dropFirst())
        for token in ["", wrong] {
            let r = browser.send("POST", Self.page, body: "request=\(sealed)&action=approve" + (token.isEmpty ? "" : "&csrf_token=\(token)"))
            #expect(r.status == 403)
            #expect(r.header("Location") == nil)
        }
        #expect(!f.audit.kinds().contains(.flowApproved))
    }

    // MARK: prompt, max_age, login_hint

    @Test func promptNoneWithoutASessionIsLoginRequired() throws {
        let f = try Self.fixture()
        let r = Browser(f).get(Self.authorize, query: Self.query(extra: [("prompt", "none")]))
        #expect(r.status == 303)
        let p = Self.parameters(try #require(r.header("Location")))
        #expect(p["error"] == "login_required" && p["state"] == "st-1" && p["iss"] == f.config.issuer)
    }

    @Test func promptNoneWithASession() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        // A client that skips consent gets its code; any other, consent_required.
        let trusted = browser.get(Self.authorize, query: Self.query(client: "trusted", redirect: "https://trusted.example/cb", extra: [("prompt", "none")]))
        let p = Self.parameters(try #require(trusted.header("Location")))
        #expect(p["code"] != nil && p["state"] == "st-1")
        let other = browser.get(Self.authorize, query: Self.query(extra: [("prompt", "none")]))
        #expect(Self.parameters(try #require(other.header("Location")))["error"] == "consent_required")
        // Too old for max_age: login_required.
        f.clock.advance(seconds: 120)
        let old = browser.get(Self.authorize, query: Self.query(client: "trusted", redirect: "https://trusted.example/cb",
                                                                extra: [("prompt", "none"), ("max_age", "60")]))
        #expect(Self.parameters(try #require(old.header("Location")))["error"] == "login_required")
    }

    @Test func promptNoneInDelegatedSignInIsLoginRequired() throws {
        let f = try Self.fixture { $0.web.signIn = .delegated }
        let browser = Browser(f)
        browser.remoteUser = "alice"
        let r = browser.get(Self.authorize, query: Self.query(client: "trusted", redirect: "https://trusted.example/cb", extra: [("prompt", "none")]))
        #expect(Self.parameters(try #require(r.header("Location")))["error"] == "login_required")
    }

    /// OIDC Core §3.1.2.1: the web server's sign-in cannot be made to repeat, so a request for
    /// a new one is `login_required` at once, never a consent page with an invented auth_time.
    @Test(arguments: [[("prompt", "login")], [("prompt", "select_account")], [("max_age", "0")], [("max_age", "3600")]])
    func reauthenticationInDelegatedSignInIsLoginRequired(_ extra: [(String, String)]) throws {
        let f = try Self.fixture { $0.web.signIn = .delegated }
        let browser = Browser(f)
        browser.remoteUser = "dave"
        let r = browser.get(Self.authorize, query: Self.query(extra: extra))
        let p = Self.parameters(try #require(r.header("Location")))
        #expect(p["error"] == "login_required" && p["state"] == "st-1", "\(extra)")
    }

    @Test func delegatedSignInGoesStraightToConsent() throws {
        let f = try Self.fixture { $0.web.signIn = .delegated }
        let browser = Browser(f)
        browser.remoteUser = "dave"
        browser.get(Self.authorize, query: Self.query())
        #expect(browser.last?.bodyText.contains("value=\"approve\"") == true)
        let p = Self.parameters(try #require(try Self.decide(browser, "approve").header("Location")))
        let tokens = Self.redeem(f, code: try #require(p["code"]))
        #expect(Self.payload(ofJWT: try #require(jsonField(tokens.bodyText, "id_token"))).contains("\"sub\":\"dave\""))
    }

    @Test func aSignedInPersonSeesConsentAndPromptLoginForcesSignIn() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        f.clock.advance(seconds: 5)
        browser.get(Self.authorize, query: Self.query())
        #expect(browser.last?.bodyText.contains("value=\"approve\"") == true)
        browser.get(Self.authorize, query: Self.query(extra: [("prompt", "login")]))
        #expect(browser.last?.bodyText.contains("name=\"password\"") == true)
        #expect(browser.last?.bodyText.contains("value=\"approve\"") == false)
        // An approval posted with the old sign-in is not taken: the sign-in page again.
        let r = try Self.decide(browser, "approve")
        #expect(r.status == 200 && r.header("Location") == nil && r.bodyText.contains("name=\"password\""))
        // Signing in again leads on to consent.
        #expect(try Self.signIn(browser).bodyText.contains("value=\"approve\""))
    }

    @Test func maxAgeAsksForAFreshSignIn() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        f.clock.advance(seconds: 120)
        browser.get(Self.authorize, query: Self.query(extra: [("max_age", "600")]))
        #expect(browser.last?.bodyText.contains("value=\"approve\"") == true)
        browser.get(Self.authorize, query: Self.query(extra: [("max_age", "60")]))
        #expect(browser.last?.bodyText.contains("name=\"password\"") == true)
        try Self.signIn(browser)
        let location = try #require(try Self.decide(browser, "approve").header("Location"))
        let code = try #require(Self.parameters(location)["code"])
        let idToken = try #require(jsonField(Self.redeem(f, code: code).bodyText, "id_token"))
        let claims = Self.payload(ofJWT: idToken)
        #expect(claims.contains("\"auth_time\":\(f.clock.now().milliseconds / 1000)"))
    }

    @Test func aClientThatSkipsConsentGetsItsCodeUnlessPromptConsent() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        let q = Self.query(client: "trusted", redirect: "https://trusted.example/cb")
        browser.get(Self.authorize, query: q)
        let direct = try #require(browser.last)
        #expect(direct.status == 303 && Self.parameters(direct.header("Location") ?? "")["code"] != nil)
        browser.get(Self.authorize, query: q + "&prompt=consent")
        #expect(browser.last?.bodyText.contains("value=\"approve\"") == true)
    }

    @Test func loginHintPrefillsTheUsernameEscaped() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query(extra: [("login_hint", "\"><b>bob")]))
        let body = try #require(browser.last?.bodyText)
        #expect(body.contains("value=\"&quot;&gt;&lt;b&gt;bob\""))
        #expect(!body.contains("<b>bob"))
        browser.get(Self.authorize, query: Self.query(extra: [("login_hint", "alice")]))
        #expect(browser.last?.bodyText.contains("name=\"username\" type=\"text\" value=\"alice\"") == true)
    }

    // MARK: Hostile text and the CSP

    @Test func hostileNamesAndStateAreEscapedEverywhere() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        let state = "\"><script>alert(1)</script>"
        browser.get(Self.authorize, query: Self.query(client: "hostile", redirect: "https://hostile.example/cb", state: state))
        let signIn = try #require(browser.last)
        let consent = try Self.signIn(browser)
        for body in [signIn.bodyText, consent.bodyText] {
            #expect(!body.contains("<img") && !body.contains("<script"))
            #expect(body.contains("&lt;img src=x onerror=alert(1)&gt;"))
        }
        let location = try #require(try Self.decide(browser, "approve").header("Location"))
        #expect(!location.contains("<") && !location.contains("\""))
        #expect(Self.parameters(location)["state"] == state)
    }

    @Test func formActionAllowsTheRedirectOriginOnTheseDecisionPagesOnly() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        let signIn = try #require(browser.last)
        let consent = try Self.signIn(browser)
        for r in [signIn, consent] {
            let csp = try #require(r.header("Content-Security-Policy"))
            #expect(csp.contains("form-action 'self' https://app.example;"), "\(csp)")
            VerificationPageTests.expectPageHeaders(r)
        }
        #expect(Browser(f).get("/device").header("Content-Security-Policy")?.contains("form-action 'self';") == true)
        #expect(Browser(f).get(Self.page, query: "request=x").header("Content-Security-Policy")?.contains("form-action 'self';") == true)
        // A loopback redirect: its origin with the port the app sent.
        let loop = Browser(f)
        loop.get(Self.authorize, query: Self.query(redirect: "http://127.0.0.1:53127/loop"))
        #expect(loop.last?.header("Content-Security-Policy")?.contains("form-action 'self' http://127.0.0.1:53127;") == true)
    }

    @Test(arguments: [
        ("https://app.example/cb", "https://app.example", "app.example"),
        ("https://App.Example:8443/cb?x=1", "https://app.example:8443", "App.Example:8443"),
        ("http://127.0.0.1:53127/loop", "http://127.0.0.1:53127", "127.0.0.1:53127"),
        ("com.example.app:/callback", "com.example.app:", "com.example.app:"),
        ("https://user@app.example/cb", nil, "user@app.example"),
        ("https://app.example;script-src *;/cb", nil, "app.example;script-src *;"),
        ("https://[::1]:80/cb", "https://[::1]:80", "[::1]:80"),
        ("http://[::1]:51234/loop6", "http://[::1]:51234", "[::1]:51234"),
        ("http://[::1]x/cb", nil, "[::1]x"),
        ("http://[::1;*]/cb", nil, "[::1;*]"),
        ("nocolon", nil, "nocolon"),
    ] as [(String, String?, String)])
    func redirectOrigins(_ uri: String, _ source: String?, _ shown: String) {
        let origin = RedirectOrigin(uri)
        #expect(origin.cspSource == source)
        #expect(origin.shown == shown)
    }

    @Test(arguments: ["authorize_signin", "authorize_consent"])
    func anOverrideWithoutTheSealedRequestIsRefusedAtStart(_ name: String) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/\(name).mustache", "{{> header}}<form><input name=\"csrf_token\" value=\"{{csrf_token}}\"></form>{{> footer}}")
        #expect { _ = try PageTemplates(directory: temp.path) } throws: { "\($0)".contains("authorization_request") }
        try writeFile(temp.path + "/\(name).mustache", "{{> header}}<form><input name=\"request\" value=\"{{authorization_request}}\"></form>{{> footer}}")
        _ = try PageTemplates(directory: temp.path)
    }

    // MARK: RP-initiated logout

    @Test func endSessionRedirectsOnlyToARegisteredAddressAndEndsTheSession() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        let session = try #require(browser.cookies["__Host-devicegate_session"])
        let r = browser.get(Self.endSession, query: "client_id=webapp&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=s%201")
        #expect(r.status == 303)
        #expect(r.header("Location") == "https://app.example/bye?state=s%201")
        #expect(r.headers.contains { $0.0 == "Set-Cookie" && $0.1.hasPrefix("__Host-devicegate_session=;") && $0.1.contains("Max-Age=0") })
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(session)) == nil)
        // Replaying the old cookie gets no session: prompt=none says login_required.
        browser.cookies["__Host-devicegate_session"] = session
        let after = browser.get(Self.authorize, query: Self.query(client: "trusted", redirect: "https://trusted.example/cb", extra: [("prompt", "none")]))
        #expect(Self.parameters(after.header("Location") ?? "")["error"] == "login_required")
    }

    @Test(arguments: [
        "client_id=webapp&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        "client_id=trusted&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye",
        "post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye",
        "",
    ])
    func endSessionWithoutARegisteredAddressShowsAPage(_ query: String) throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.signIn()
        let session = try #require(browser.cookies["__Host-devicegate_session"])
        let r = browser.get(Self.endSession, query: query)
        #expect(r.status == 200)
        #expect(r.header("Location") == nil)
        #expect(r.bodyText.contains("You are signed out"))
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(session)) == nil)
    }

    @Test func endSessionWithAnIDTokenHint() throws {
        let f = try Self.fixture()
        let browser = Browser(f)
        browser.get(Self.authorize, query: Self.query())
        try Self.signIn(browser)
        let code = try #require(Self.parameters(try Self.decide(browser, "approve").header("Location") ?? "")["code"])
        let idToken = try #require(jsonField(Self.redeem(f, code: code).bodyText, "id_token"))
        let session = try #require(browser.cookies["__Host-devicegate_session"])
        // A forged hint (payload changed, signature kept) is refused and the session kept.
        let parts = idToken.split(separator: ".").map(String.init)
        let forged = parts[0] + "." + Encoding.base64URL(Array("{\"iss\":\"\(f.config.issuer)\",\"aud\":\"webapp\"}".utf8)) + "." + parts[2]
        let refused = browser.get(Self.endSession, query: "id_token_hint=\(forged)&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye")
        #expect(refused.status == 400 && refused.header("Location") == nil)
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(session)) != nil)
        // A hint for another client than client_id is refused too.
        let mismatch = browser.get(Self.endSession, query: "id_token_hint=\(idToken)&client_id=trusted")
        #expect(mismatch.status == 400)
        // The real hint names the client by its aud.
        let r = browser.get(Self.endSession, query: "id_token_hint=\(idToken)&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye")
        #expect(r.status == 303 && r.header("Location") == "https://app.example/bye")
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(session)) == nil)
        // POST works the same way.
        let post = Browser(f).send("POST", Self.endSession, body: "client_id=webapp&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye")
        #expect(post.status == 303)
    }
}
