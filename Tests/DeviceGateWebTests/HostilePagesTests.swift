import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import Testing

/// The real pages, reached as a person (or an attacker's link) reaches them, with a hostile
/// value in every field that comes from a request or from the configuration: the code echo,
/// the username after a failed sign-in, the delegated subject, the client's display name, a
/// scope description, the product name and the logo URL. Each page must parse strictly and
/// have exactly the element and attribute structure of the same page rendered with benign
/// values (issue 10, item 1).
@Suite struct HostilePagesTests {
    /// The pages of one walk through the verification page, by name.
    static func walk(_ value: String) throws -> [(String, HTTPResponse)] {
        var pages: [(String, HTTPResponse)] = []
        let f = try WebFixture { config, _ in
            config.clients.append(ClientRegistration(clientID: "evil", displayName: value, kind: .public,
                                                     allowedScopes: ScopeSet(["openid", "email"]), defaultScopes: ScopeSet(["openid", "email"])))
            config.web.scopeDescriptions["email"] = value
            config.web.productName = value
            // Past the loader's check on purpose: the page must be safe whatever it is given.
            config.web.logoURL = "/logo?" + value
            config.web.limits.userCodePerIP = .init(maximum: 6, windowSeconds: 600)
        }
        let browser = Browser(f)
        pages.append(("GET ?code=", browser.get("/device", query: "code=" + value.formEncoded)))
        pages.append(("typed code echo", browser.enter(value)))
        pages.append(("failed sign-in", browser.signIn(value, "wrong")))
        let (_, user) = try f.startFlow(client: "evil")
        browser.signIn()
        pages.append(("consent", browser.enter(user)))
        pages.append(("done", browser.decide("approve", code: user)))
        let (_, other) = try f.startFlow(client: "evil")
        browser.flow = nil
        pages.append(("other flow", browser.decide("approve", code: other)))
        pages.append(("404", browser.get("/device/nothing")))
        pages.append(("405", browser.send("PUT", "/device")))
        pages.append(("403 csrf", browser.post("/device", [("user_code", user)], csrf: "forged")))
        pages.append(("400 form", browser.send("POST", "/device", body: "user_code=%zz")))
        pages.append(("413", f.app.handle(HTTPRequest(method: "POST", path: "/device", contentType: "application/x-www-form-urlencoded",
                                                      cookie: browser.cookieHeader, remoteAddress: browser.address, bodyExceededLimit: true))))
        let stranger = Browser(f)
        stranger.get()
        pages.append(("401", stranger.decide("approve", code: user)))
        var refused = browser.enter("BBBB-BBBB")
        for _ in 0..<10 where refused.status != 429 { refused = browser.enter("BBBB-BBBB") }
        pages.append(("429", refused))

        let delegated = try WebFixture { config, _ in
            config.web.signIn = .delegated
            config.web.productName = value
        }
        let person = Browser(delegated)
        person.remoteUser = value
        let (_, code) = try delegated.startFlow()
        pages.append(("delegated consent", person.enter(code)))
        pages.append(("delegated done", person.decide("deny", code: code)))
        return pages
    }

    static func contains(_ tokens: [StrictHTML.Token], _ value: String) -> Bool {
        tokens.contains { token in
            switch token {
            case .text(let text): text.contains(value)
            case .start(_, let attributes): attributes.contains { $0.value.contains(value) }
            default: false
            }
        }
    }

    @Test(arguments: Hostile.values)
    func everyPageKeepsItsStructureWithHostileValues(_ value: String) throws {
        let hostile = try Self.walk(value)
        let benign = try Self.walk("Benign TV")
        try #require(hostile.count == benign.count)
        for ((label, page), (_, reference)) in zip(hostile, benign) {
            #expect(page.status == reference.status, "\(label): \(page.status), benign \(reference.status)")
            let tokens = try StrictHTML.tokens(page.bodyText)
            let expected = try StrictHTML.tokens(reference.bodyText)
            #expect(StrictHTML.shape(tokens) == StrictHTML.shape(expected), "\(label): structure changed\n\(page.bodyText)")
            // The product name is on every page; the values shown on this page, whole.
            #expect(Self.contains(tokens, value), "\(label): the value is not in one text or attribute node")
            if label == "consent" || label == "done" {
                #expect(tokens.contains(.text(value)), "\(label): the client name is not its own text node")
            }
            if label == "failed sign-in" {
                #expect(tokens.contains { if case .start("input", let a) = $0 { a.contains { $0.name == "value" && $0.value == String(value.prefix(64)) } } else { false } })
            }
        }
    }

    @Test func aCodeLinkThatIsNotAUserCodePrefillsNothing() throws {
        let f = try WebFixture()
        let (_, user) = try f.startFlow()
        let browser = Browser(f)
        let hostile = browser.get("/device", query: "code=%22%CC%81%D8%80%3E%D8%80%3Ca%20href%3D%2F%2Fevil.example%3EContinue%20here")
        #expect(hostile.status == 200)
        #expect(hostile.bodyText.contains("value=\"\"\n"))
        #expect(!hostile.bodyText.contains("evil.example"))
        let good = browser.get("/device", query: "code=" + user.lowercased())
        #expect(good.bodyText.contains("value=\"\(user)\""))
        #expect(good.bodyText.contains("Check that this matches"))
    }
}
