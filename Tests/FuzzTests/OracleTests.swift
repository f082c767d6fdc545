import DeviceFlow
@testable import DeviceGateFuzzing
import DeviceGateHTTP
import DeviceGateTesting
import DirectoryStorage
import Testing

/// The properties are not vacuous: each one throws when shown a wrong answer, and the app
/// harness really reaches the deep paths its placeholders promise.
struct OracleTests {
    @Test(arguments: ["{}", "{\"error\":\"x\",\"n\":-1.5e3,\"a\":[true,null,{}],\"s\":\"\\u00e9\\ud83d\\ude00\\n\"}", " [] "])
    func jsonAccepted(_ text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) != nil)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":\"\u{1}\"}", "{\"a\":01}", "{\"a\":\"\\ud800\"}", "{} {}", "{\"a\":\"\\x\"}"])
    func jsonRefused(_ text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil)
    }

    @Test func recordStabilityCatchesALossyWriter() throws {
        let flow = DeviceFlowRecord(id: "a", userCodeKey: "b", clientID: "tv", scope: ScopeSet(["openid"]),
                                    createdAt: UnixTime(milliseconds: 1), expiresAt: UnixTime(milliseconds: 2), interval: 5)
        let file = RecordCoding.encode(flow)
        #expect(throws: Never.self) { try RecordProperties.stable(file, RecordCoding.decodeFlow, RecordCoding.encode) }
        #expect(throws: PropertyViolation.self) { try RecordProperties.stable(file, RecordCoding.decodeFlow) { _ in Array("devicegate-flow 1\nend\n".utf8) } }
        #expect(throws: PropertyViolation.self) {
            try RecordProperties.exact(flow, RecordCoding.encode) { _, _ in DeviceFlowRecord(id: "other", userCodeKey: "b", clientID: "tv", scope: ScopeSet(),
                                                                                           createdAt: UnixTime(milliseconds: 1), expiresAt: UnixTime(milliseconds: 2), interval: 5) }
        }
    }

    @Test func userCodeChecksCatchANonCanonicalCode() {
        #expect(throws: PropertyViolation.self) { try UserCodeProperties.canonical("bcdf-ghjk", UserCodeFormat(), typed: "test") }
        #expect(throws: PropertyViolation.self) { try UserCodeProperties.canonical("BCDFGHJ", UserCodeFormat(), typed: "test") }
        #expect(throws: Never.self) { try UserCodeProperties.canonical("BCDFGHJK", UserCodeFormat(), typed: "test") }
    }

    @Test func responseChecksCatchWrongAnswers() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let instance = harness.embedded
        let token = HTTPRequest(method: "POST", path: "/application/o/token/")
        let page = HTTPRequest(method: "GET", path: "/device")
        let json = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]
        let html = [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", "default-src 'none'"),
                    ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")]
        #expect(throws: Never.self) { try instance.checkResponse(HTTPResponse(status: 400, headers: json, body: Array("{\"error\":\"invalid_request\"}".utf8)), to: token) }
        // The one 500 allowed: a gateway path nginx was misconfigured to send (a bare '+').
        #expect(throws: Never.self) {
            try instance.checkResponse(HTTPResponse(status: 500, headers: json, body: Array("{\"error\":\"server_error\"}".utf8)),
                                       to: HTTPRequest(method: "GET", path: "/_devicegate/auth/a+b"))
        }
        let wrong: [(HTTPResponse, HTTPRequest)] = [
            (HTTPResponse(status: 500, headers: json, body: Array("{\"error\":\"server_error\"}".utf8)), token),
            (HTTPResponse(status: 400, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: Array("{\"error\":\"invalid_request\"}".utf8)), token),
            (HTTPResponse(status: 500, headers: json, body: Array("{\"error\":\"server_error\"}".utf8)), HTTPRequest(method: "GET", path: "/_devicegate/auth/api.read")),
            (HTTPResponse(status: 503, headers: json, body: Array("{\"error\":\"temporarily_unavailable\"}".utf8)), token),
            (HTTPResponse(status: 400, headers: json, body: Array("{\"error_description\":\"x\"}".utf8)), token),
            (HTTPResponse(status: 400, headers: json, body: Array("{\"error\":\"a\u{1}\"}".utf8)), token),
            (HTTPResponse(status: 401, headers: json, body: Array("{\"error\":\"invalid_client\"}".utf8)), token),
            (HTTPResponse(status: 418, headers: json, body: Array("{\"error\":\"teapot\"}".utf8)), token),
            (HTTPResponse(status: 200, headers: html, body: Array("<p><SCRIPT>alert(1)</script>".utf8)), page),
            (HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: []), page),
            (HTTPResponse(status: 303, headers: [("Location", "//evil.example/")], body: []), page),
            (HTTPResponse(status: 429, headers: html, body: []), page),
            (HTTPResponse(status: 200, headers: html + [("Set-Cookie", "other=1")], body: []), page),
        ]
        for (response, request) in wrong {
            #expect(throws: PropertyViolation.self, "\(response.status) \(response.headers)") { try instance.checkResponse(response, to: request) }
        }
    }

    /// The page property reads structure: a real page passes; the same page with one element
    /// or attribute more, or with an attribute value let out of its quotes, does not.
    @Test(arguments: [
        ("</h1>", "</h1><a href=\"//evil.example\">Continue here</a>"),
        ("<input type=\"hidden\" name=\"csrf_token\"", "<input type=\"hidden\" name=\"action\" value=\"approve\"><input type=\"hidden\" name=\"csrf_token\""),
        ("class=\"code\"", "class=\"code\" onfocus=\"x\""),
        ("value=\"\"", "value=\"\"\u{301}\u{600}>\u{600}<a href=//evil.example>Continue here\""),
    ])
    func pageChecksReadStructure(_ target: String, _ replacement: String) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let instance = harness.embedded
        let request = HTTPRequest(method: "GET", path: "/device")
        let page = instance.app.handle(request)
        #expect(throws: Never.self) { try instance.checkResponse(page, to: request) }
        var forged = page
        var html = page.bodyText
        let range = try #require(html.range(of: target))
        html.replaceSubrange(range, with: replacement)
        forged.body = Array(html.utf8)
        #expect(throws: PropertyViolation.self) { try instance.checkResponse(forged, to: request) }
    }

    /// The placeholders get the fuzzer past CSRF, sign-in and client authentication.
    @Test func seedsReachTheirEndpoints() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let expected: [(String, Int, String)] = [
            ("device-authorization", 200, "\"device_code\""),
            ("device-authorization-confidential", 200, "\"user_code\""),
            ("token-poll", 400, "authorization_pending"),
            ("token-refresh", 200, "\"refresh_token\""),
            ("introspect", 200, "\"active\":true"),
            ("introspect-refresh", 200, "\"active\":true"),
            ("userinfo-bearer", 200, "\"sub\":\"bob\""),
            ("userinfo-post", 200, "\"sub\":\"bob\""),
            ("auth-check", 200, ""),
            ("auth-check-scope", 403, "insufficient_scope"),
            ("revoke", 200, ""),
            ("submit-code", 200, "Sign in"),
            ("submit-code-signed-in", 200, "Allow access?"),
            ("sign-in", 200, "Allow access?"),
            ("sign-in-wrong", 403, "Wrong username or password."),
            ("approve", 200, "Device connected"),
            ("deny", 200, "Request denied"),
            ("sign-out", 303, ""),
            ("submit-no-csrf", 403, "This form has expired"),
            ("delegated-approve", 200, "Device connected"),
            ("delegated-no-user", 403, "You are not signed in"),
            ("token-poll-expired", 400, "expired_token"),
            ("approve-without-flow-binding", 409, "This page is out of date"),
            ("approve-forged-flow-binding", 409, "This page is out of date"),
            ("enter-page-hostile-combining", 200, "Connect a device"),
            ("submit-code-hostile-combining", 400, "That is not a valid code"),
            ("sign-in-hostile-username", 403, "Wrong username or password."),
            ("delegated-submit-hostile-user", 200, "Allow access?"),
        ]
        for (name, status, text) in expected {
            let bytes = try #require(InputFiles.read("\(CorpusTests.corpus)/app/\(name)"))
            let response = try harness.check(AppInput(bytes))
            #expect(response.status == status && (text.isEmpty || response.bodyText.contains(text)),
                    "\(name): \(response.status) \(response.bodyText.prefix(400))")
        }
    }
}
