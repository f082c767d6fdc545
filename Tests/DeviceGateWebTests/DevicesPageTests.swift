import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@testable import DeviceGateWeb
import Observability
import Testing

/// "Your devices" (`/device/connected`): the person's live grants, Disconnect, and the way in
/// without a device code.
@Suite struct DevicesPageTests {
    /// Both test TVs earn refresh tokens; other-tv's grants live one hour.
    static func fixture(_ adjust: @escaping (inout DeviceGateConfiguration) -> Void = { _ in }) throws -> WebFixture {
        try WebFixture { config, _ in
            config.clients[0].issuesRefreshTokens = true
            config.clients[1].issuesRefreshTokens = true
            config.clients[1].lifetimes = ClientLifetimes(refreshToken: 3600)
            adjust(&config)
        }
    }

    /// A flow of `client` started from `address` with `userAgent`, approved by `user` on the
    /// page and redeemed: the token response's fields.
    @discardableResult
    static func connect(_ f: WebFixture, client: String = "tv", scope: String? = nil, user: String = "alice",
                        password: String = WebFixture.alicePassword, from address: String = "198.51.100.7",
                        userAgent: String? = "SmartTV/2.1") throws -> (access: String, refresh: String) {
        let body = "client_id=\(client)" + (scope.map { "&scope=" + $0.formEncoded } ?? "")
        let response = f.app.handle(HTTPRequest(method: "POST", path: "/application/o/device/", contentType: "application/x-www-form-urlencoded",
                                                userAgent: userAgent, remoteAddress: address, body: Array(body.utf8)))
        let device = try #require(jsonField(response.bodyText, "device_code")), code = try #require(jsonField(response.bodyText, "user_code"))
        let browser = Browser(f, address: "203.0.113.50")
        browser.signIn(user, password, code: code)
        try #require(browser.decide("approve", code: code).status == 200)
        let tokens = f.poll(device, client: client)
        try #require(tokens.status == 200, "\(tokens.body)")
        return (try #require(jsonField(tokens.body, "access_token")), try #require(jsonField(tokens.body, "refresh_token")))
    }

    static func refresh(_ f: WebFixture, _ token: String, client: String = "tv", from address: String = "192.0.2.33") -> HTTPResponse {
        f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded",
                                 remoteAddress: address, body: Array("grant_type=refresh_token&client_id=\(client)&refresh_token=\(token.formEncoded)".utf8)))
    }

    /// Alice's browser on "Your devices".
    static func signedIn(_ f: WebFixture, _ user: String = "alice", _ password: String = WebFixture.alicePassword) -> Browser {
        let browser = Browser(f, address: "203.0.113.50")
        browser.signIn(user, password)
        browser.get("/device/connected")
        return browser
    }

    /// The grant ids the page offers to disconnect, in order.
    static func grantIDs(_ page: HTTPResponse?) -> [String] {
        (page?.bodyText ?? "").components(separatedBy: "name=\"grant\" value=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    static func text(_ page: HTTPResponse?) throws -> String {
        try StrictHTML.tokens(page?.bodyText ?? "").compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }

    @Test func theListHoldsOnlyThePersonsOwnLiveGrants() throws {
        let f = try Self.fixture()
        // A second apart, so that "oldest" means one grant.
        try Self.connect(f)
        f.clock.advance(seconds: 1)
        try Self.connect(f, client: "other-tv")
        f.clock.advance(seconds: 1)
        try Self.connect(f, user: "bob", password: "bcrypt pw")
        f.clock.advance(seconds: 1)
        try Self.connect(f)
        let alices = try f.store.refreshFamilies(subject: "alice").sorted { $0.createdAt < $1.createdAt }
        try #require(alices.count == 3 && alices[1].clientID == "other-tv")
        // One revoked (as RFC 7009 revocation leaves it), one expired (other-tv's hour is over).
        try f.store.updateRefreshFamily(id: alices[2].id) { family in
            var revoked = family!
            revoked.revokedAt = f.clock.now()
            return (revoked, ())
        }
        f.clock.advance(seconds: 3601)
        let page = Self.signedIn(f).last
        #expect(page?.status == 200)
        #expect(Self.grantIDs(page) == [alices[0].id])
        let text = try Self.text(page)
        #expect(text.contains("Living-room TV") && !text.contains("Other TV"))
        let bobs = try f.store.refreshFamilies(subject: "bob")
        #expect(!bobs.isEmpty && !bobs.contains { page?.bodyText.contains($0.id) == true })
    }

    @Test func eachGrantSaysWhatWhenAndFromWhere() throws {
        let f = try Self.fixture()
        let tokens = try Self.connect(f, from: "198.51.100.7", userAgent: "SmartTV/2.1 (Linux)")
        f.clock.advance(seconds: 3 * 86_400)
        var page = Self.signedIn(f).last
        var text = try Self.text(page)
        #expect(text.contains("Know who you are (your account ID)"), "scopes in plain words")
        #expect(text.contains("3 days ago") && text.contains("not yet"))
        #expect(text.contains("198.51.100.7") && text.contains("SmartTV/2.1"))
        #expect(Self.refresh(f, tokens.refresh, from: "192.0.2.33").status == 200)
        f.clock.advance(seconds: 180)
        page = Self.signedIn(f).last
        text = try Self.text(page)
        #expect(text.contains("3 days ago") && text.contains("3 minutes ago") && !text.contains("not yet"))
        #expect(text.contains("192.0.2.33") && !text.contains("198.51.100.7"), "the last use's address")
    }

    @Test func anEmptyListSaysSo() throws {
        let f = try Self.fixture()
        let page = Self.signedIn(f).last
        #expect(page?.status == 200 && Self.grantIDs(page).isEmpty)
        #expect(try Self.text(page).contains("No devices are connected to your account."))
    }

    @Test func disconnectRevokesTheGrantAndItsAccessTokensThenRedirectsToTheList() throws {
        let f = try Self.fixture()
        let tokens = try Self.connect(f)
        let family = try #require(try f.store.refreshFamilies(subject: "alice").first)
        let browser = Self.signedIn(f)
        let answer = browser.post("/device/connected", [("grant", family.id)])
        #expect(answer.status == 303)
        #expect(answer.header("Location") == "/device/connected?disconnected=" + family.id)
        // The page the redirect leads to: the confirmation, and the grant gone from the list.
        #expect(browser.last?.status == 200 && Self.grantIDs(browser.last).isEmpty)
        #expect(try Self.text(browser.last).contains("Living-room TV is disconnected."))
        #expect(try f.store.isAccessTokenRevoked(id: try #require(family.accessTokens.first?.id)))
        #expect(jsonField(Self.refresh(f, tokens.refresh).bodyText, "error") == "invalid_grant")
        let event = try #require(f.audit.events.last { $0.kind == .tokenRevoked })
        #expect(event.user == "alice" && event.clientID == "tv" && event.address == "203.0.113.50")
        #expect(event.details.contains { $0 == ("grant", family.id) } && event.details.contains { $0 == ("via", "web") })
        // A reload of the list posts nothing again.
        let revocations = f.audit.kinds().filter { $0 == .tokenRevoked }.count
        #expect(browser.get("/device/connected", query: "disconnected=" + family.id).status == 200)
        #expect(f.audit.kinds().filter { $0 == .tokenRevoked }.count == revocations)
        // The confirmation lasts ten minutes, then the same link says nothing.
        f.clock.advance(seconds: 601)
        let later = browser.get("/device/connected", query: "disconnected=" + family.id)
        #expect(later.status == 200 && !later.bodyText.contains("is disconnected"))
    }

    /// A link someone sends cannot make the page say a device was disconnected when it was not:
    /// a live grant, an unknown grant id and a client id all show no confirmation.
    @Test func theConfirmationIsShownOnlyForTheVisitorsJustRevokedGrant() throws {
        let f = try Self.fixture()
        try Self.connect(f)
        let live = try #require(try f.store.refreshFamilies(subject: "alice").first)
        let browser = Self.signedIn(f)
        for query in ["disconnected=" + live.id, "disconnected=tv", "disconnected=" + String(repeating: "0", count: 64)] {
            let page = browser.get("/device/connected", query: query)
            #expect(page.status == 200 && !page.bodyText.contains("is disconnected"), "\(query)")
        }
        #expect(browser.post("/device/connected", [("grant", live.id)]).status == 303)
        #expect(try Self.text(browser.last).contains("Living-room TV is disconnected."))
    }

    @Test func theConfirmationNamesOnlyARegisteredClient() throws {
        let f = try Self.fixture()
        let browser = Self.signedIn(f)
        let page = browser.get("/device/connected", query: "disconnected=" + "Your bank".formEncoded)
        #expect(page.status == 200 && !page.bodyText.contains("Your bank") && !page.bodyText.contains("is disconnected"))
    }

    @Test func disconnectNeedsTheFormToken() throws {
        let f = try Self.fixture()
        try Self.connect(f)
        let family = try #require(try f.store.refreshFamilies(subject: "alice").first)
        let browser = Self.signedIn(f)
        #expect(browser.post("/device/connected", [("grant", family.id)], csrf: "forged").status == 403)
        #expect(browser.send("POST", "/device/connected", body: "grant=\(family.id)").status == 403)
        #expect(try f.store.refreshFamilies(subject: "alice").first?.revokedAt == nil)
    }

    @Test func anotherPersonsUnknownAndMalformedIdsAreRefusedAlike() throws {
        let f = try Self.fixture()
        try Self.connect(f, user: "bob", password: "bcrypt pw")
        try Self.connect(f)
        let bobs = try #require(try f.store.refreshFamilies(subject: "bob").first)
        let browser = Self.signedIn(f)
        var answers: [(Int, String)] = []
        for id in [bobs.id, String(repeating: "a", count: 64), "../\(bobs.id)", "", String(bobs.id.uppercased())] {
            let response = browser.post("/device/connected", [("grant", id)])
            answers.append((response.status, response.bodyText))
        }
        #expect(answers.allSatisfy { $0.0 == 404 })
        #expect(Set(answers.map(\.1)).count == 1, "the refusals differ")
        #expect(try Self.text(browser.last).contains("That device is not connected to your account."))
        #expect(try f.store.refreshFamilies(subject: "bob").first?.revokedAt == nil)
        #expect(Self.grantIDs(browser.last).count == 1, "alice's own grant is still listed")
    }

    @Test func withoutASessionTheSignInReturnsToTheList() throws {
        let f = try Self.fixture()
        try Self.connect(f)
        let browser = Browser(f)
        let form = browser.get("/device/connected")
        #expect(form.status == 200 && form.bodyText.contains("name=\"password\"") && Self.grantIDs(form).isEmpty)
        #expect(!form.bodyText.contains("href=\"/device/connected\""), "no top-bar link before sign-in")
        let wrong = browser.post("/device/connected", [("step", "sign_in"), ("username", "alice"), ("password", "nope")])
        #expect(wrong.status == 403 && wrong.bodyText.contains("name=\"password\""))
        let answer = browser.post("/device/connected", [("step", "sign_in"), ("username", "alice"), ("password", WebFixture.alicePassword)])
        #expect(answer.status == 303 && answer.header("Location") == "/device/connected")
        #expect(browser.last?.status == 200 && Self.grantIDs(browser.last).count == 1)
        #expect(browser.last?.bodyText.contains("href=\"/device/connected\"") == true, "the top bar links here once signed in")
        #expect(f.audit.kinds().suffix(2) == [.signInFailed, .signInSucceeded])
    }

    @Test func aDisconnectWithoutASessionAsksForTheSignIn() throws {
        let f = try Self.fixture()
        try Self.connect(f)
        let family = try #require(try f.store.refreshFamilies(subject: "alice").first)
        let browser = Browser(f)
        browser.get("/device/connected")
        let answer = browser.post("/device/connected", [("grant", family.id)])
        #expect(answer.status == 401 && answer.bodyText.contains("name=\"password\""))
        #expect(try f.store.refreshFamilies(subject: "alice").first?.revokedAt == nil)
    }

    @Test func delegatedSignInListsAtOnce() throws {
        let f = try Self.fixture { $0.web.signIn = .delegated }
        let (device, code) = try f.startFlow()
        let person = Browser(f)
        person.remoteUser = "alice"
        person.enter(code)
        #expect(person.decide("approve", code: code).status == 200)
        #expect(f.poll(device).status == 200)
        let page = person.get("/device/connected")
        #expect(page.status == 200 && Self.grantIDs(page).count == 1)
        let stranger = Browser(f)
        #expect(stranger.get("/device/connected").status == 403)
        #expect(stranger.send("POST", "/device/connected", body: "step=sign_in&username=alice&password=x&csrf_token=\(stranger.csrf ?? "")").status == 403)
    }

    @Test func otherMethodsAre405WithAllow() throws {
        let f = try Self.fixture()
        let browser = Self.signedIn(f)
        for method in ["PUT", "DELETE", "OPTIONS"] {
            let answer = browser.send(method, "/device/connected")
            #expect(answer.status == 405 && answer.header("Allow") == "GET, HEAD, POST")
        }
        #expect(browser.send("HEAD", "/device/connected").status == 200)
    }

    /// Any number of grants, each with any number of scopes, has the shape of one grant with
    /// one scope: the shape the fuzzer and the hostile-page tests accept.
    @Test func manyGrantsHaveTheShapeOfOne() throws {
        let one = try Self.fixture()
        try Self.connect(one)
        let many = try Self.fixture()
        try Self.connect(many, scope: "openid profile email", userAgent: nil)
        many.clock.advance(seconds: 1)
        try Self.connect(many, client: "other-tv")
        many.clock.advance(seconds: 1)
        try Self.connect(many, scope: "openid email")
        let page = { (f: WebFixture) in StrictHTML.shape(try StrictHTML.tokens(Self.signedIn(f).last?.bodyText ?? "")) }
        #expect(try page(many) == page(one))
        let templates = try PageTemplates(directory: nil)
        let shapes = PageShapes.all(pages: [("devices", DefaultTemplates.textWithPartials("devices"))], render: templates.render)
        #expect(shapes.contains(try page(many)))
    }

    /// A hostile client name, scope description and device User-Agent change nothing in the
    /// list's structure.
    @Test(arguments: Hostile.values)
    func hostileValuesKeepTheListsStructure(_ value: String) throws {
        func page(_ value: String) throws -> [String] {
            let f = try Self.fixture { config in
                config.clients[0].displayName = value
                config.web.scopeDescriptions["openid"] = value
            }
            try Self.connect(f, userAgent: "x'&`/1" + value)
            let page = Self.signedIn(f).last
            try #require(page?.status == 200)
            // Every tag and attribute name in order, unfolded: one grant with one scope on both
            // sides, so an injected list item or card shows as an extra tag.
            return try StrictHTML.tokens(page?.bodyText ?? "").compactMap {
                switch $0 {
                case .start(let name, let attributes): "<\(name) \(attributes.map(\.name).joined(separator: " "))>"
                case .end(let name): "</\(name)>"
                case .text, .doctype: nil
                }
            }
        }
        #expect(try page(value) == page("Benign TV"))
    }

    /// The language switcher on "Your devices" shows the same page again in the other
    /// language, rather than leaving for code entry.
    @Test func theLanguageSwitcherStaysOnTheList() throws {
        let f = try Self.fixture()
        let browser = Self.signedIn(f)
        let page = try #require(browser.last)
        #expect(page.bodyText.contains("href=\"/device/connected?lang=de\""), "\(page.bodyText)")
        let german = browser.get("/device/connected", query: "lang=de")
        #expect(german.status == 200 && german.bodyText.contains("<html lang=\"de\""))
        #expect(german.bodyText.contains("href=\"/device/connected?lang=en\""))
    }
}
