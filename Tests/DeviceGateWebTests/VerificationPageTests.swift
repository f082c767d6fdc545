#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import DirectoryStorage
import Testing

/// Every page, error and refusal of the verification page (RFC 8628 §3.3, §5), over HTTP
/// values and a real state directory.
@Suite struct VerificationPageTests {
    // MARK: Headers and code entry

    static func expectPageHeaders(_ r: HTTPResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.header("Content-Type") == "text/html; charset=utf-8", sourceLocation: sourceLocation)
        let csp = r.header("Content-Security-Policy") ?? ""
        #expect(csp.contains("frame-ancestors 'none'"), sourceLocation: sourceLocation)
        #expect(csp.contains("default-src 'none'"), sourceLocation: sourceLocation)
        #expect(csp.contains("style-src 'self'"), sourceLocation: sourceLocation)
        #expect(!csp.contains("unsafe-inline") && !csp.contains("script-src"), sourceLocation: sourceLocation)
        #expect(r.header("X-Frame-Options") == "DENY", sourceLocation: sourceLocation)
        #expect(r.header("X-Content-Type-Options") == "nosniff", sourceLocation: sourceLocation)
        #expect(r.header("Referrer-Policy") == "no-referrer", sourceLocation: sourceLocation)
        #expect(r.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
        #expect(!r.bodyText.contains("<script"), sourceLocation: sourceLocation)
        #expect(!r.bodyText.contains("style=\""), sourceLocation: sourceLocation)
    }

    @Test func entryPageHasOneCodeInputAndHardeningHeaders() throws {
        let f = try WebFixture()
        let r = Browser(f).get()
        #expect(r.status == 200)
        Self.expectPageHeaders(r)
        #expect(r.bodyText.contains("name=\"user_code\""))
        #expect(r.bodyText.components("name=\"user_code\"") == 1)
        #expect(r.bodyText.contains("name=\"csrf_token\""))
        #expect(r.bodyText.contains("href=\"/device/style.css\""))
        // A fresh browser gets the anonymous CSRF cookie, HttpOnly, SameSite=Lax, Secure, __Host-.
        let cookie = try #require(r.headers.first { $0.0 == "Set-Cookie" }?.1)
        #expect(cookie.hasPrefix("__Host-devicegate_csrf="))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure") && cookie.contains("Path=/"))
        #expect(!cookie.contains("Domain"))
    }

    @Test func prefillFromVerificationURIComplete_neverApprovesOnGet() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn()
        let r = browser.get("/device", query: "code=\(user.lowercased())")
        #expect(r.status == 200)
        #expect(r.bodyText.contains("value=\"\(user)\""))
        #expect(r.bodyText.contains("Check that this matches"))
        #expect(!r.bodyText.contains("value=\"approve\""))
        // HEAD too.
        browser.send("HEAD", "/device", query: "code=\(user)")
        #expect(try f.flow(device)?.status == .pending)
        #expect(f.poll(device).error == "authorization_pending")
    }

    @Test func digitCodesGetANumberPad() throws {
        let f = try WebFixture { config, _ in config.userCode = UserCodeFormat(length: 9, charset: .digits, groupSize: 3) }
        let r = Browser(f).get()
        #expect(r.bodyText.contains("inputmode=\"numeric\""))
        #expect(r.bodyText.contains("placeholder=\"XXX-XXX-XXX\""))
        #expect(try WebFixture().app.handle(HTTPRequest(method: "GET", path: "/device")).bodyText.contains("inputmode=\"text\""))
    }

    @Test func prefillOnlyFromAWellFormedCode() throws {
        let f = try WebFixture()
        let r = Browser(f).get("/device", query: "code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        #expect(r.status == 200)
        #expect(!r.bodyText.contains("script"))
        #expect(!r.bodyText.contains("Check that this matches"))
    }

    @Test(arguments: ["lower", "spaces", "nodash", "mixed"])
    func codeInputIsNormalized(_ style: String) throws {
        let f = try WebFixture()
        let (_, user) = try f.startFlow()
        let typed: String
        switch style {
        case "lower": typed = user.lowercased()
        case "spaces": typed = "  " + user.replacingChars("-", " ") + " "
        case "nodash": typed = user.replacingChars("-", nil)
        default: typed = String(user.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.lowercased()) : $0.element })
        }
        let r = Browser(f).enter(typed)
        #expect(r.status == 200, "\(r.bodyText)")
        #expect(r.bodyText.contains("name=\"username\""))
        #expect(r.bodyText.contains("name=\"password\""))
        #expect(r.bodyText.contains(user))
    }

    @Test func unknownMalformedExpiredAndUsedCodesEachGetAClearMessage() throws {
        let f = try WebFixture()
        let browser = Browser(f)
        browser.signIn()
        var r = browser.enter("BBBB-BBBB")
        #expect(r.status == 404)
        #expect(r.bodyText.contains("don’t recognise that code"))
        r = browser.enter("hello!")
        #expect(r.status == 400)
        #expect(r.bodyText.contains("not a valid code"))
        r = browser.enter("")
        #expect(r.status == 400)
        #expect(r.bodyText.contains("Enter the code"))

        let (_, used) = try f.startFlow()
        _ = try f.app.service.approve(userCode: used, subject: "x", authTime: f.clock.now(), now: f.clock.now())
        r = browser.enter(used)
        #expect(r.status == 409)
        #expect(r.bodyText.contains("already been used"))

        let (_, denied) = try f.startFlow()
        _ = try f.app.service.deny(userCode: denied, now: f.clock.now())
        r = browser.enter(denied)
        #expect(r.status == 409)
        #expect(r.bodyText.contains("was denied"))

        let (_, late) = try f.startFlow()
        f.clock.advance(seconds: 601)
        r = browser.enter(late)
        #expect(r.status == 410)
        #expect(r.bodyText.contains("expired"))
        Self.expectPageHeaders(r)
    }

    // MARK: CSRF

    @Test(arguments: ["/device", "/device/signin", "/device/decision", "/device/signout"])
    func postWithoutValidCSRFTokenIsRefused(_ path: String) throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn()
        browser.enter(user)
        let fields = [("user_code", user), ("action", "approve"), ("username", "alice"), ("password", WebFixture.alicePassword)]
        var r = browser.post(path, fields, csrf: "")
        #expect(r.status == 403)
        #expect(r.bodyText.contains("form has expired"))
        r = browser.post(path, fields, csrf: String(repeating: "0", count: 64))
        #expect(r.status == 403)
        // A token of another browser is no good either.
        let other = Browser(f)
        other.get()
        r = browser.post(path, fields, csrf: other.csrf)
        #expect(r.status == 403)
        #expect(try f.flow(device)?.status == .pending)
    }

    @Test func csrfTokenChangesAtSignInAndTheOldOneStopsWorking() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.get()
        let anonymous = try #require(browser.csrf)
        let consent = browser.signIn(code: user)
        #expect(consent.bodyText.contains("value=\"approve\""))
        #expect(browser.csrf != anonymous)
        let r = browser.post("/device/decision", [("user_code", user), ("action", "approve")], csrf: anonymous)
        #expect(r.status == 403)
        #expect(try f.flow(device)?.status == .pending)
    }

    // MARK: Sign-in

    @Test func signInSetsASecureServerSideSessionStoredOnlyHashed() throws {
        let f = try WebFixture(.disk)
        let browser = Browser(f)
        let r = browser.signIn()
        #expect(r.status == 303)
        #expect(r.header("Location") == "/device")
        let cookie = try #require(r.headers.first { $0.1.hasPrefix("__Host-devicegate_session=") }?.1)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure") && cookie.contains("Path=/"))
        let id = try #require(browser.cookies["__Host-devicegate_session"])
        #expect(id.count == 43)
        // Only SHA-256(id) names the file; the id itself is nowhere in the state directory.
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(id))?.subject == "alice")
        for path in regularFiles(under: f.config.stateDirectory) {
            let text = String(decoding: readBytes(path), as: UTF8.self)
            #expect(!text.contains(id))
            #expect(!path.contains(id))
        }
        let sessionFile = try #require(regularFiles(under: f.config.stateDirectory + "/sessions").first)
        #expect(fileMode(sessionFile) == 0o600)
        // Signed in: the header says so.
        #expect(browser.get().bodyText.contains("alice"))
    }

    @Test(arguments: [("bob", "bcrypt pw"), ("carol", "yescrypt pw"), ("alice", WebFixture.alicePassword)])
    func htpasswdAndMkpasswdHashesSignIn(_ user: String, _ password: String) throws {
        let f = try WebFixture()
        let r = Browser(f).signIn(user, password)
        #expect(r.status == 303)
    }

    @Test(arguments: [("alice", "wrong"), ("nobody", "x"), ("bob", "yescrypt pw"), ("bad name!", "x"), ("alice", "")])
    func wrongCredentialsAreRefusedWithOneMessage(_ user: String, _ password: String) throws {
        let f = try WebFixture()
        let browser = Browser(f)
        let r = browser.signIn(user, password)
        #expect(r.status == 403)
        #expect(r.bodyText.contains("Wrong username or password."))
        #expect(browser.cookies.keys.allSatisfy { !$0.contains("session") })
        Self.expectPageHeaders(r)
    }

    @Test func failedSignInsAreLimitedPerUser() throws {
        let f = try WebFixture { config, _ in config.web.limits.signInPerUser = .init(maximum: 3, windowSeconds: 900) }
        for i in 0..<3 {
            let browser = Browser(f, address: "198.51.100.\(i)")
            #expect(browser.signIn("alice", "guess\(i)").status == 403)
        }
        // Even the right password from a fresh address is refused now, with a clear message.
        let r = Browser(f, address: "198.51.100.99").signIn()
        #expect(r.status == 429)
        #expect(r.bodyText.contains("Too many attempts"))
        #expect(Int(r.header("Retry-After") ?? "") ?? 0 > 0)
        // Another user is not affected.
        #expect(Browser(f, address: "198.51.100.99").signIn("bob", "bcrypt pw").status == 303)
        f.clock.advance(seconds: 900)
        #expect(Browser(f, address: "198.51.100.99").signIn().status == 303)
    }

    @Test func failedSignInsAreLimitedPerIP() throws {
        let f = try WebFixture { config, _ in config.web.limits.signInPerIP = .init(maximum: 4, windowSeconds: 900) }
        let browser = Browser(f, address: "192.0.2.1")
        for user in ["u1", "u2", "u3", "u4"] { #expect(browser.signIn(user, "x").status == 403) }
        #expect(browser.signIn().status == 429)
        #expect(Browser(f, address: "192.0.2.2").signIn().status == 303)
    }

    @Test func signOutEndsTheSessionServerSide() throws {
        let f = try WebFixture()
        let browser = Browser(f)
        browser.signIn()
        let id = try #require(browser.cookies["__Host-devicegate_session"])
        browser.get()
        #expect(browser.last?.bodyText.contains("Sign out") == true)
        let r = browser.post("/device/signout", [])
        #expect(r.status == 303)
        #expect(r.headers.contains { $0.0 == "Set-Cookie" && $0.1.hasPrefix("__Host-devicegate_session=;") && $0.1.contains("Max-Age=0") })
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(id)) == nil)
        // Replaying the old cookie does not sign anyone in.
        let replay = Browser(f)
        replay.cookies["__Host-devicegate_session"] = id
        #expect(replay.get().bodyText.contains("alice") == false)
    }

    /// Regression (Tests/Fuzz/corpus/cookie/prepend-mark): another cookie whose value ends in a
    /// prepended concatenation mark (U+0600–U+0605) swallowed the `;` after it when the header
    /// was split on Characters, and the session cookie behind it was lost.
    @Test(arguments: ["\u{600}", "\u{603}", "\u{605}"])
    func sessionCookieAfterAPrependedMarkIsFound(_ mark: String) throws {
        let f = try WebFixture()
        let browser = Browser(f)
        browser.signIn()
        let id = try #require(browser.cookies["__Host-devicegate_session"])
        let r = f.app.handle(HTTPRequest(method: "GET", path: "/device", cookie: "theme=dark\(mark); __Host-devicegate_session=\(id)"))
        #expect(r.status == 200)
        #expect(r.bodyText.contains("Sign out"))
    }

    @Test func expiredSessionsAreNotHonoured() throws {
        let f = try WebFixture { config, _ in config.web.sessionLifetime = 600 }
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn()
        browser.enter(user)
        f.clock.advance(seconds: 601)
        let r = browser.decide("approve", code: user)
        // The token was bound to the ended session, so the form is refused.
        #expect(r.status == 403)
        #expect(try f.flow(device)?.status == .pending)
    }

    // MARK: Consent and decisions

    @Test func consentPageShowsClientScopesCodeWarningAndButtons() throws {
        let f = try WebFixture()
        let (_, user) = try f.startFlow(scope: "openid profile email")
        let browser = Browser(f)
        browser.signIn()
        let r = browser.enter(user.lowercased())
        #expect(r.status == 200)
        Self.expectPageHeaders(r)
        let html = r.bodyText
        #expect(html.contains("Living-room TV"))
        #expect(html.contains(user))
        #expect(html.contains("See your email address"))
        #expect(html.contains("See your name"))
        #expect(html.contains("Only approve if you started this yourself"))
        #expect(html.contains("<button type=\"submit\" name=\"action\" value=\"approve\""))
        #expect(html.contains("<button type=\"submit\" name=\"action\" value=\"deny\""))
        #expect(html.contains("Signed in as <strong class=\"user\">alice</strong>"))
    }

    @Test func hostileClientNameAndScopeDescriptionsRenderAsText() throws {
        let f = try WebFixture { config, _ in
            config.clients.append(ClientRegistration(clientID: "evil", displayName: "<script>alert('x')</script>", kind: .public,
                                                     allowedScopes: ScopeSet(["openid", "x<y"]), defaultScopes: ScopeSet(["openid", "x<y"])))
            config.web.scopeDescriptions["openid"] = "<b>bold</b> & more"
        }
        let (_, user) = try f.startFlow(client: "evil")
        let browser = Browser(f)
        browser.signIn()
        let html = browser.enter(user).bodyText
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; more"))
        #expect(html.contains("x&lt;y"))
    }

    @Test func signInWithCodeLeadsStraightToConsent() throws {
        let f = try WebFixture()
        let (_, user) = try f.startFlow()
        let browser = Browser(f)
        let signInPage = browser.enter(user)
        #expect(signInPage.bodyText.contains("Sign in to connect <strong class=\"client\">Living-room TV</strong>"))
        #expect(signInPage.bodyText.inputValue("user_code") == user)
        let consent = browser.post("/device/signin", [("username", "alice"), ("password", WebFixture.alicePassword), ("user_code", user)])
        #expect(consent.status == 200)
        #expect(consent.bodyText.contains("value=\"approve\""))
        #expect(consent.headers.contains { $0.1.hasPrefix("__Host-devicegate_session=") })
    }

    @Test func approveBindsSubjectAndAuthTimeThenTokensFlow() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        let signedInAt = f.clock.now()
        browser.signIn(code: user)
        f.clock.advance(seconds: 30)
        let r = browser.decide("approve", code: user)
        #expect(r.status == 200)
        Self.expectPageHeaders(r)
        #expect(r.bodyText.contains("Device connected"))
        #expect(r.bodyText.contains("go back to your device"))
        guard case .approved(let approval) = try f.flow(device)?.status else { Issue.record("not approved"); return }
        #expect(approval.subject == "alice")
        #expect(approval.authTime == signedInAt)
        let poll = f.poll(device)
        #expect(poll.status == 200)
        #expect(poll.body.contains("access_token"))
    }

    @Test func denyMakesTheNextPollAccessDenied() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn(code: user)
        let r = browser.decide("deny", code: user)
        #expect(r.status == 200)
        #expect(r.bodyText.contains("Request denied"))
        #expect(f.poll(device).error == "access_denied")
    }

    @Test func replayedApprovalAndLaterDenialChangeNothing() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        let consent = browser.signIn(code: user)
        let token = try #require(consent.bodyText.inputValue("csrf_token"))
        let binding = try #require(consent.bodyText.inputValue("flow"))
        #expect(browser.decide("approve", code: user).status == 200)
        // The same form again (back button, double click): it names this flow, which is decided.
        var r = browser.post("/device/decision", [("user_code", user), ("action", "approve"), ("flow", binding)], csrf: token)
        #expect(r.status == 409)
        #expect(r.bodyText.contains("already approved"))
        r = browser.post("/device/decision", [("user_code", user), ("action", "deny"), ("flow", binding)], csrf: token)
        #expect(r.status == 409)
        guard case .approved(let approval) = try f.flow(device)?.status else { Issue.record("not approved"); return }
        #expect(approval.subject == "alice")
    }

    @Test func anotherSessionCannotChangeADecidedFlow() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let alice = Browser(f, address: "192.0.2.10")
        alice.signIn(code: user)
        let mallory = Browser(f, address: "192.0.2.66")
        mallory.signIn("bob", "bcrypt pw", code: user)
        #expect(alice.decide("deny", code: user).status == 200)
        let r = mallory.decide("approve", code: user)
        #expect(r.status == 409)
        #expect(r.bodyText.contains("already denied"))
        #expect(f.poll(device).error == "access_denied")
    }

    @Test func decisionNeedsASignedInSessionAndAValidAction() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let anonymous = Browser(f)
        anonymous.get()
        var r = anonymous.decide("approve", code: user)
        #expect(r.status == 401)
        let browser = Browser(f)
        browser.signIn(code: user)
        r = browser.decide("maybe", code: user)
        #expect(r.status == 400)
        r = browser.decide("approve", code: "not a code")
        #expect(r.status == 400)
        r = browser.decide("approve", code: "BBBB-BBBB")
        #expect(r.status == 404)
        #expect(try f.flow(device)?.status == .pending)
    }

    @Test func expiredFlowCannotBeApprovedFromAnOpenConsentPage() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn(code: user)
        f.clock.advance(seconds: 601)
        let r = browser.decide("approve", code: user)
        #expect(r.status == 410)
        #expect(f.poll(device).error == "expired_token")
    }

    // MARK: Brute force, RFC 8628 §5.1

    @Test func failedCodeEntriesAreLimitedPerIP() throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 5, windowSeconds: 600) }
        let (_, user) = try f.startFlow()
        let attacker = Browser(f, address: "203.0.113.66")
        for code in ["BBBB-BBBB", "bad", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF"] {
            #expect(attacker.enter(code).status != 200)
        }
        // Past the limit even a right code is refused, and nothing is looked up.
        let r = attacker.enter(user)
        #expect(r.status == 429)
        #expect(r.bodyText.contains("Too many wrong codes were entered from your network"))
        let retry = try #require(Int(r.header("Retry-After") ?? ""))
        #expect(retry > 0 && retry <= 600)
        Self.expectPageHeaders(r)
        // Decisions count and obey the same limit (no way around the entry form).
        let signedIn = Browser(f, address: "203.0.113.66")
        signedIn.signIn()
        #expect(signedIn.decide("approve", code: user).status == 429)
        // Other addresses are not affected; the window ends.
        #expect(Browser(f, address: "203.0.113.1").enter(user).status == 200)
        f.clock.advance(seconds: Int64(retry))
        let (_, fresh) = try f.startFlow()
        #expect(attacker.enter(fresh).status == 200)
    }

    @Test func failedCodeEntriesAreLimitedGloballyAcrossAddresses() throws {
        let f = try WebFixture { config, _ in
            config.web.limits.userCodePerIP = .init(maximum: 100, windowSeconds: 600)
            config.web.limits.userCodeGlobal = .init(maximum: 6, windowSeconds: 600)
        }
        let (_, user) = try f.startFlow()
        for i in 0..<6 { Browser(f, address: "198.51.100.\(i)").enter("BBBB-BBB\(["B", "C", "D", "F", "G", "H"][i])") }
        let r = Browser(f, address: "192.0.2.200").enter(user)
        #expect(r.status == 429)
        #expect(r.bodyText.contains("pausing for everyone"))
    }

    @Test func ipv6AddressesAreCountedByTheirSlash64() throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 3, windowSeconds: 600) }
        let (_, user) = try f.startFlow()
        for suffix in ["1", "2", "abcd:1", "ffff:ffff:ffff:ffff"] where suffix != "ffff:ffff:ffff:ffff" {
            Browser(f, address: "2001:db8:1:2::\(suffix)").enter("BBBB-BBBB")
        }
        #expect(Browser(f, address: "2001:db8:1:2:ffff:ffff:ffff:ffff").enter(user).status == 429)
        #expect(Browser(f, address: "2001:db8:1:3::1").enter(user).status == 200)
        // IPv4-mapped addresses count as the IPv4 address.
        let g = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 1, windowSeconds: 600) }
        let (_, code) = try g.startFlow()
        Browser(g, address: "::ffff:192.0.2.9").enter("BBBB-BBBB")
        #expect(Browser(g, address: "192.0.2.9").enter(code).status == 429)
    }

    @Test func garbageCollectionRemovesEndedSessionsAndWindows() throws {
        let f = try WebFixture { config, _ in config.web.sessionLifetime = 600 }
        let now = f.clock.now()
        try f.webStore.saveSession(idHash: String(repeating: "a", count: 64), WebSession(subject: "old", authTime: now, expiresAt: now.adding(seconds: 60)))
        try f.webStore.saveSession(idHash: String(repeating: "b", count: 64), WebSession(subject: "live", authTime: now, expiresAt: now.adding(seconds: 7200)))
        _ = try f.webStore.increment(key: "short", windowSeconds: 60, now: now)
        _ = try f.webStore.increment(key: "long", windowSeconds: 86_400, now: now)
        let removed = f.webStore.collectExpiredWebState(now: now.adding(seconds: 120))
        #expect(removed.sessions == 1 && removed.counters == 1)
        #expect(try f.webStore.session(idHash: String(repeating: "a", count: 64)) == nil)
        #expect(try f.webStore.session(idHash: String(repeating: "b", count: 64))?.subject == "live")
        #expect(try f.webStore.count(key: "long", windowSeconds: 86_400, now: now).count == 1)
        // A counter removed under a waiting incrementer is recreated, not lost.
        #expect(try f.webStore.increment(key: "short", windowSeconds: 60, now: now.adding(seconds: 120)).count == 1)
    }

    @Test func failedDecisionsCountTowardsTheUserCodeLimit() throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 3, windowSeconds: 600) }
        let (_, user) = try f.startFlow()
        let browser = Browser(f, address: "192.0.2.77")
        browser.signIn()
        browser.get()
        for code in ["BBBB-BBBB", "CCCC-CCCC", "not a code"] { #expect(browser.decide("approve", code: code).status != 200) }
        #expect(browser.enter(user).status == 429)
    }

    @Test func signingInAgainRotatesTheSessionID() throws {
        let f = try WebFixture()
        let browser = Browser(f)
        browser.signIn()
        let first = try #require(browser.cookies["__Host-devicegate_session"])
        browser.signIn("bob", "bcrypt pw")
        let second = try #require(browser.cookies["__Host-devicegate_session"])
        #expect(first != second)
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(first)) == nil)
        #expect(try f.webStore.session(idHash: Encoding.sha256Hex(second))?.subject == "bob")
    }

    @Test func successfulEntriesAreNotCounted() throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 2, windowSeconds: 600) }
        let (_, user) = try f.startFlow()
        let browser = Browser(f)
        for _ in 0..<5 { #expect(browser.enter(user).status == 200) }
    }

    @Test func countersAreSharedThroughTheStateDirectory() throws {
        // Two stores on one directory stand for two worker processes.
        let f = try WebFixture(.disk)
        let other = try FileWebStateStore(directory: StateDirectory(root: f.config.stateDirectory))
        let now = f.clock.now()
        for _ in 0..<3 { _ = try f.webStore.increment(key: "k", windowSeconds: 60, now: now) }
        #expect(try other.increment(key: "k", windowSeconds: 60, now: now).count == 4)
        #expect(try f.webStore.count(key: "k", windowSeconds: 60, now: now.adding(seconds: 60)).count == 0)
        let end = try other.count(key: "k", windowSeconds: 60, now: now).windowEnd
        #expect(end.milliseconds % 60_000 == 0 && end > now && end <= now.adding(seconds: 60))
    }

    // MARK: Delegated sign-in and cookies

    @Test func remoteUserIsIgnoredInEmbeddedMode() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.remoteUser = "mallory"
        let r = browser.enter(user)
        #expect(r.bodyText.contains("name=\"password\""))
        browser.decide("approve", code: user)
        #expect(try f.flow(device)?.status == .pending)
    }

    @Test func delegatedModeTrustsRemoteUser() throws {
        let f = try WebFixture { config, _ in config.web.signIn = .delegated }
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.remoteUser = "dana@example.com"
        let consent = browser.enter(user)
        #expect(consent.status == 200)
        #expect(consent.bodyText.contains("value=\"approve\""))
        #expect(consent.bodyText.contains("dana@example.com"))
        #expect(!consent.bodyText.contains("Sign out"))
        #expect(browser.decide("approve", code: user).status == 200)
        guard case .approved(let approval) = try f.flow(device)?.status else { Issue.record("not approved"); return }
        #expect(approval.subject == "dana@example.com")
    }

    @Test func delegatedModeWithoutRemoteUserExplains() throws {
        let f = try WebFixture { config, _ in config.web.signIn = .delegated }
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        var r = browser.enter(user)
        #expect(r.status == 403)
        #expect(r.bodyText.contains("REMOTE_USER"))
        r = browser.signIn()
        #expect(r.status == 403)
        r = browser.decide("approve", code: user)
        #expect(r.status == 403)
        #expect(try f.flow(device)?.status == .pending)
    }

    @Test func developmentCookiesDropSecureAndPrefix() throws {
        let f = try WebFixture { config, _ in
            config.issuer = "http://127.0.0.1:8080/application/o/devicegate/"
            config.web.insecureDevelopmentCookies = true
        }
        let browser = Browser(f)
        let r = browser.signIn()
        let cookie = try #require(r.headers.first { $0.1.hasPrefix("devicegate_session=") }?.1)
        #expect(!cookie.contains("Secure"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))
        #expect(browser.get().bodyText.contains("alice"))
    }

    // MARK: Other paths, bad input, branding, templates

    @Test func stylesheetCarriesTheAccentColour() throws {
        let f = try WebFixture { config, _ in config.web.accentColor = "#7a1f5c" }
        let r = Browser(f).get("/device/style.css")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "text/css; charset=utf-8")
        #expect(r.header("X-Content-Type-Options") == "nosniff")
        #expect(r.bodyText.contains("--accent: #7a1f5c;"))
        #expect(r.bodyText.contains("--accent-text: #ffffff;"))
    }

    @Test func unknownPathsAndWrongMethodsGetPagesNotCrashes() throws {
        let f = try WebFixture()
        let browser = Browser(f)
        var r = browser.get("/device/nope")
        #expect(r.status == 404)
        Self.expectPageHeaders(r)
        r = browser.send("PUT", "/device")
        #expect(r.status == 405)
        #expect(r.header("Allow") == "GET, HEAD, POST")
        r = browser.send("DELETE", "/device/decision")
        #expect(r.status == 405)
        r = browser.get("/device/", query: "code=BCDF-GHJK")
        #expect(r.status == 303)
        #expect(r.header("Location") == "/device?code=BCDF-GHJK")
        r = browser.get("/device/decision")
        #expect(r.status == 303)
        #expect(r.header("Location") == "/device")
        // Not ours: the OAuth 404 JSON.
        #expect(browser.get("/devices").header("Content-Type") == "application/json")
    }

    @Test(arguments: ["user_code=%zz", "user_code=%FF%FE", "\u{0}", String(repeating: "a=1&", count: 300)])
    func unreadableFormsGetA400Page(_ body: String) throws {
        let f = try WebFixture()
        let browser = Browser(f)
        browser.get()
        let r = browser.send("POST", "/device", body: body)
        #expect(r.status == 400)
        Self.expectPageHeaders(r)
        let wrongType = browser.send("POST", "/device", body: "user_code=x", contentType: "application/json")
        #expect(wrongType.status == 400)
        let tooLarge = f.app.handle(HTTPRequest(method: "POST", path: "/device", contentType: "application/x-www-form-urlencoded", bodyExceededLimit: true))
        #expect(tooLarge.status == 413)
    }

    @Test func brandingAppearsEscapedAndLogoIsAllowedByCSP() throws {
        let f = try WebFixture { config, _ in
            config.web.productName = "Acme <TV> Login"
            config.web.logoURL = "https://cdn.example.com/logo.svg"
        }
        let r = Browser(f).get()
        #expect(r.bodyText.contains("Acme &lt;TV&gt; Login"))
        #expect(r.bodyText.contains("<img class=\"logo\" src=\"https://cdn.example.com/logo.svg\""))
        #expect(r.header("Content-Security-Policy")?.contains("img-src 'self' https://cdn.example.com;") == true)
    }

    @Test func templatesDirectoryOverridesBuiltIns() throws {
        let f = try WebFixture { config, dir in
            config.web.templatesDirectory = dir
            try? writeFile(dir + "/enter.mustache", "{{> header}}<h1>Custom {{product_name}}</h1><input name=\"user_code\">{{> footer}}")
        }
        let r = Browser(f).get()
        #expect(r.bodyText.contains("<h1>Custom devicegate</h1>"))
        #expect(r.bodyText.contains("</html>"))
    }

    @Test func brokenOverrideTemplateIsReportedWithItsPlace() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/done.mustache", "ok\n{{#approved}}never closed")
        #expect {
            _ = try PageTemplates(directory: temp.path)
        } throws: { error in
            "\(error)".contains(temp.path + "/done.mustache:")
        }
    }
}

extension String {
    func components(_ needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.range(of: needle) { count += 1; rest = rest[range.upperBound...] }
        return count
    }

    func replacingChars(_ target: Character, _ replacement: Character?) -> String {
        String(compactMap { $0 == target ? replacement : $0 })
    }
}

func readBytes(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "r") else { return [] }
    defer { fclose(file) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        out.append(contentsOf: buffer[0..<n])
        if n < buffer.count { break }
    }
    return out
}

func fileMode(_ path: String) -> UInt32 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt32(st.st_mode & 0o777) : 0
}
