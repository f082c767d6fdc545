import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import Testing

/// The pages of a web app's sign-in with a hostile value in everything a request or the
/// configuration puts on them (client name, scope description, product name, `login_hint`,
/// the username after a failed sign-in, `state`): each parses strictly and keeps the element
/// and attribute structure of the same page with benign values, as `HostilePagesTests` does
/// for the device pages.
@Suite struct HostileAuthorizationPagesTests {
    static func walk(_ value: String) throws -> [(String, HTTPResponse)] {
        let f = try WebFixture { config, _ in
            config.clients.append(ClientRegistration(
                clientID: "evil", displayName: value, kind: .public, allowedScopes: ScopeSet(["openid", "profile"]),
                defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode], redirectURIs: ["https://evil-app.example/cb"]))
            config.web.scopeDescriptions["profile"] = value
            config.web.productName = value
        }
        let query = [("response_type", "code"), ("client_id", "evil"), ("redirect_uri", "https://evil-app.example/cb"),
                     ("scope", "openid profile"), ("state", value), ("login_hint", value),
                     ("code_challenge", Encoding.base64URL(Encoding.sha256("v"))), ("code_challenge_method", "S256")]
            .map { "\($0.0.formEncoded)=\($0.1.formEncoded)" }.joined(separator: "&")
        var pages: [(String, HTTPResponse)] = []
        let browser = Browser(f)
        browser.get(AuthorizationPageTests.authorize, query: query)
        pages.append(("sign-in", try #require(browser.last)))
        let sealed = try #require(browser.last?.bodyText.inputValue("request"))
        pages.append(("failed sign-in", browser.post(AuthorizationPageTests.page, [("request", sealed), ("username", value), ("password", "x")])))
        pages.append(("consent", browser.post(AuthorizationPageTests.page,
                                              [("request", sealed), ("username", "alice"), ("password", WebFixture.alicePassword)])))
        pages.append(("refused request", browser.get(AuthorizationPageTests.authorize, query: "client_id=" + value.formEncoded)))
        pages.append(("signed out", browser.get(AuthorizationPageTests.endSession, query: "state=" + value.formEncoded)))
        return pages
    }

    @Test(arguments: Hostile.values)
    func everyPageKeepsItsStructureWithHostileValues(_ value: String) throws {
        let hostile = try Self.walk(value)
        let benign = try Self.walk("Benign App")
        try #require(hostile.count == benign.count)
        for ((label, page), (_, reference)) in zip(hostile, benign) {
            #expect(page.status == reference.status, "\(label): \(page.status), benign \(reference.status)")
            let tokens = try StrictHTML.tokens(page.bodyText)
            let expected = try StrictHTML.tokens(reference.bodyText)
            #expect(StrictHTML.shape(tokens) == StrictHTML.shape(expected), "\(label): structure changed\n\(page.bodyText)")
            #expect(HostilePagesTests.contains(tokens, value), "\(label): the value is not in one text or attribute node")
            if label == "consent" { #expect(tokens.contains(.text(value)), "consent: the client name is not its own text node") }
            if label == "sign-in" || label == "failed sign-in" {
                #expect(tokens.contains { if case .start("input", let a) = $0 { a.contains { $0.name == "value" && $0.value == String(value.prefix(64)) } } else { false } },
                        "\(label): the username field does not hold the value")
            }
            #expect(page.header("Content-Security-Policy") == reference.header("Content-Security-Policy"), "\(label)")
        }
    }
}
