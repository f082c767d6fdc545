import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import Logging
import Observability
import Testing
import TokenSigning

/// The app over the in-memory store (or, for tests of the disk, a state directory in a temp
/// dir), with a manual clock and opaque access tokens, as `DeviceGateApp.assemble` wires it.
final class AppFixture {
    let temp = TemporaryDirectory()
    let clock = ManualClock()
    let config: DeviceGateConfiguration
    let storage: TestStorage
    var store: any FlowStorage & ExpiredStateCollecting { storage.flows }
    let app: DeviceGateApp

    /// `configure` adjusts the configuration and `storage` what the app stores in (the
    /// reserve's filesystem reading) before the app is built.
    init(_ kind: TestStorage.Kind = .memory, configure: (inout DeviceGateConfiguration) -> Void = { _ in },
         storage adjust: (inout ApplicationStorage) -> Void = { _ in }, telemetry: Telemetry = .disabled()) throws {
        var config = testConfiguration(stateDirectory: temp.path + "/state")
        config.tokens.format = .opaque
        config.tokens.signingAlgorithm = "ES256"
        configure(&config)
        self.config = config
        storage = try TestStorage(kind, root: config.stateDirectory)
        var application = try storage.application(keysDirectory: config.keysDirectory, now: clock.now())
        adjust(&application)
        app = try DeviceGateApp.assemble(configuration: config, storage: application, clock: clock, telemetry: telemetry,
                                         logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    deinit { temp.remove() }

    var service: FlowService { app.service }

    func post(_ path: String, _ body: String, contentType: String? = "application/x-www-form-urlencoded", authorization: String? = nil) -> HTTPResponse {
        app.handle(HTTPRequest(method: "POST", path: path, contentType: contentType, authorization: authorization, body: Array(body.utf8)))
    }

    func authorize(_ body: String = "client_id=tv", authorization: String? = nil) -> HTTPResponse {
        post("/application/o/device/", body, authorization: authorization)
    }

    func token(_ body: String, authorization: String? = nil) -> HTTPResponse {
        post("/application/o/token/", body, authorization: authorization)
    }

    func poll(_ deviceCode: String, client: String = "tv") -> HTTPResponse {
        token("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=\(client)&device_code=\(deviceCode)")
    }

    /// A started flow: (device_code, user_code).
    func start(_ body: String = "client_id=tv") throws -> (String, String) {
        let json = try JSON(authorize(body))
        return (try #require(json["device_code"]), try #require(json["user_code"]))
    }
}

/// Just enough JSON reading for flat response objects.
struct JSON {
    var fields: [String: String] = [:]
    init(_ response: HTTPResponse) throws {
        var text = Substring(response.bodyText)
        guard text.first == "{", text.last == "}" else { throw ParseError() }
        text = text.dropFirst().dropLast()
        var i = text.startIndex
        func string() throws -> String {
            guard text[i] == "\"" else { throw ParseError() }
            i = text.index(after: i)
            var out = ""
            while text[i] != "\"" {
                if text[i] == "\\" { i = text.index(after: i) }
                out.append(text[i]); i = text.index(after: i)
            }
            i = text.index(after: i)
            return out
        }
        while i < text.endIndex {
            let key = try string()
            guard text[i] == ":" else { throw ParseError() }
            i = text.index(after: i)
            if text[i] == "\"" { fields[key] = try string() } else {
                let end = text[i...].firstIndex(of: ",") ?? text.endIndex
                fields[key] = String(text[i..<end]); i = end
            }
            if i < text.endIndex { guard text[i] == "," else { throw ParseError() }; i = text.index(after: i) }
        }
    }
    subscript(key: String) -> String? { fields[key] }
    struct ParseError: Error {}
}

func expectOAuthError(_ response: HTTPResponse, _ code: String, status: Int = 400, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "status", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
    #expect(response.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
    let json = try? JSON(response)
    #expect(json?["error"] == code, "body: \(response.bodyText)", sourceLocation: sourceLocation)
    #expect((json?["error_description"]?.isEmpty ?? true) == false, sourceLocation: sourceLocation)
}

struct DeviceAuthorizationEndpointTests {
    @Test func responseCarriesEveryRFC8628Field() throws {
        let f = try AppFixture()
        let response = f.authorize("client_id=tv&scope=openid+email")
        #expect(response.status == 200)
        #expect(response.header("Cache-Control") == "no-store")
        let json = try JSON(response)
        let userCode = try #require(json["user_code"])
        #expect(json["device_code"]?.count == 43)
        #expect(userCode.count == 9)
        #expect(json["verification_uri"] == "https://auth.example.com/device")
        #expect(json["verification_uri_complete"] == "https://auth.example.com/device?code=\(userCode)")
        #expect(json["expires_in"] == "600")
        #expect(json["interval"] == "5")
    }

    @Test func authentikScopesSpellingAndDefaults() throws {
        let f = try AppFixture()
        let (code, user) = try f.start("client_id=tv&scopes=openid%20email%20profile")
        _ = try f.service.approve(userCode: user, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect(try JSON(f.poll(code))["scope"] == "openid email profile")
        let (code2, user2) = try f.start("client_id=tv")
        _ = try f.service.approve(userCode: user2, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect(try JSON(f.poll(code2))["scope"] == "openid")
    }

    @Test(arguments: [
        ("client_id=tv&scope=openid+admin", "invalid_scope", 400),
        ("client_id=tv&scope=open%22id", "invalid_scope", 400),
        ("client_id=tv&scope=openid&scopes=openid", "invalid_request", 400),
        ("client_id=tv&client_id=tv", "invalid_request", 400),
        ("scope=openid", "invalid_request", 400),
        ("client_id=nobody", "invalid_client", 401),
        ("client_id=cli", "invalid_client", 401),
        ("client_id=cli&client_secret=wrong", "invalid_client", 401),
        ("client_id=tv&client_secret=x", "invalid_client", 401),
        ("client_id=%zz", "invalid_request", 400),
        ("client_id=%ff%fe", "invalid_request", 400),
        ("client_id=t%00v", "invalid_request", 400),
    ])
    func refusals(body: String, code: String, status: Int) throws {
        let f = try AppFixture()
        let response = f.authorize(body)
        expectOAuthError(response, code, status: status)
        if status == 401 { #expect(response.header("WWW-Authenticate")?.hasPrefix("Basic realm=") == true) }
    }

    @Test func confidentialClientAuthenticatesWithBasicOrPost() throws {
        let f = try AppFixture()
        #expect(f.authorize("client_id=cli&client_secret=s3cret-s3cret").status == 200)
        // base64("cli:s3cret-s3cret")
        #expect(f.authorize("", authorization: "Basic Y2xpOnMzY3JldC1zM2NyZXQ=").status == 200)
        #expect(f.authorize("client_id=cli", authorization: "Basic Y2xpOnMzY3JldC1zM2NyZXQ=").status == 200)
        expectOAuthError(f.authorize("client_id=tv", authorization: "Basic Y2xpOnMzY3JldC1zM2NyZXQ="), "invalid_request")
        expectOAuthError(f.authorize("client_secret=s3cret-s3cret", authorization: "Basic Y2xpOnMzY3JldC1zM2NyZXQ="), "invalid_request")
        expectOAuthError(f.authorize("", authorization: "Basic !!!"), "invalid_client", status: 401)
    }
}

struct TokenEndpointTests {
    @Test func pendingSlowDownApprovalTokensThenInvalidGrant() throws {
        let f = try AppFixture()
        let (code, user) = try f.start()
        expectOAuthError(f.poll(code), "authorization_pending")
        f.clock.advance(seconds: 2)
        expectOAuthError(f.poll(code), "slow_down")
        f.clock.advance(seconds: 9) // 9 s < grown 10 s
        expectOAuthError(f.poll(code), "slow_down")
        f.clock.advance(seconds: 15)
        expectOAuthError(f.poll(code), "authorization_pending")
        _ = try f.service.approve(userCode: user, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        let tokens = f.poll(code)
        #expect(tokens.status == 200)
        #expect(tokens.header("Cache-Control") == "no-store")
        let json = try JSON(tokens)
        #expect(json["token_type"] == "Bearer")
        #expect(json["expires_in"] == "3600")
        #expect(json["access_token"]?.count == 43)
        expectOAuthError(f.poll(code), "invalid_grant")
    }

    @Test func denialThenAccessDenied() throws {
        let f = try AppFixture()
        let (code, user) = try f.start()
        _ = try f.service.deny(userCode: user, now: f.clock.now())
        expectOAuthError(f.poll(code), "access_denied")
    }

    @Test func expiryWinsOverApproval() throws {
        let f = try AppFixture()
        let (code, user) = try f.start()
        _ = try f.service.approve(userCode: user, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        f.clock.advance(seconds: 600)
        expectOAuthError(f.poll(code), "expired_token")
    }

    @Test func codeIsBoundToItsClient() throws {
        let f = try AppFixture()
        let (code, user) = try f.start()
        _ = try f.service.approve(userCode: user, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        expectOAuthError(f.poll(code, client: "other-tv"), "invalid_grant")
        // The rightful client still redeems it afterwards.
        #expect(f.poll(code).status == 200)
    }

    @Test func confidentialClientMustAuthenticateWhenPolling() throws {
        let f = try AppFixture()
        let (code, user) = try f.start("client_id=cli&client_secret=s3cret-s3cret")
        _ = try f.service.approve(userCode: user, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        let grant = "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=\(code)"
        let unauthenticated = f.token(grant + "&client_id=cli")
        expectOAuthError(unauthenticated, "invalid_client", status: 401)
        // RFC 6749 §5.2: the authentication scheme the client should have used (RFC 7617).
        #expect(unauthenticated.header("WWW-Authenticate") == "Basic realm=\"devicegate\", charset=\"UTF-8\"")
        expectOAuthError(f.token(grant, authorization: "Basic Y2xpOndyb25n"), "invalid_client", status: 401)
        #expect(f.token(grant, authorization: "Basic Y2xpOnMzY3JldC1zM2NyZXQ=").status == 200)
    }

    @Test(arguments: [
        ("client_id=tv&device_code=x", "invalid_request"),
        ("grant_type=password&client_id=tv", "unsupported_grant_type"),
        ("grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=tv", "invalid_request"),
        ("grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=tv&device_code=a&device_code=b", "invalid_request"),
        ("grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=tv&device_code=nonexistent", "invalid_grant"),
        ("grant_type=urn:ietf:params:oauth:grant-type:device_code&grant_type=x&client_id=tv&device_code=a", "invalid_request"),
    ])
    func refusals(body: String, code: String) throws {
        let f = try AppFixture()
        expectOAuthError(f.token(body), code)
    }
}

struct TransportRefusalTests {
    @Test func wrongMethodGets405WithAllow() throws {
        let f = try AppFixture()
        for path in ["/application/o/device/", "/application/o/token/"] {
            let response = f.app.handle(HTTPRequest(method: "GET", path: path))
            expectOAuthError(response, "invalid_request", status: 405)
            #expect(response.header("Allow") == "POST")
        }
    }

    @Test func unknownPathGets404JSON() throws {
        let f = try AppFixture()
        expectOAuthError(f.app.handle(HTTPRequest(method: "GET", path: "/nope")), "not_found", status: 404)
    }

    @Test func oversizedBodyGets413JSON() throws {
        let f = try AppFixture()
        expectOAuthError(f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded", bodyExceededLimit: true)), "invalid_request", status: 413)
    }

    @Test(arguments: [nil, "text/plain", "application/json", "multipart/form-data; boundary=x"])
    func wrongContentTypeIsInvalidRequest(contentType: String?) throws {
        let f = try AppFixture()
        expectOAuthError(f.post("/application/o/device/", "client_id=tv", contentType: contentType), "invalid_request")
    }

    @Test func formContentTypeWithCharsetIsAccepted() throws {
        let f = try AppFixture()
        #expect(f.post("/application/o/device/", "client_id=tv", contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8").status == 200)
    }

    @Test func tooManyFieldsIsInvalidRequest() throws {
        let f = try AppFixture()
        let body = (0..<10_000).map { "p\($0)=x" }.joined(separator: "&")
        expectOAuthError(f.authorize(body), "invalid_request")
    }

    @Test func storageFailureIs503NotACrash() throws {
        let f = try AppFixture(.disk)
        // Make the state directory unusable under the running app.
        f.temp.remove()
        let response = f.authorize()
        expectOAuthError(response, "temporarily_unavailable", status: 503)
        #expect(response.header("Retry-After") != nil)
    }
}

struct FormDecodingTests {
    @Test func decodesPlusPercentAndEmptyValues() throws {
        let form = try FormDecoding.decode(Array("a=1+2&b=%41%42&c=&d&&e=%E2%82%AC".utf8))
        #expect(try form.single("a") == "1 2")
        #expect(try form.single("b") == "AB")
        #expect(try form.single("c") == nil)
        #expect(try form.single("d") == nil)
        #expect(try form.single("e") == "€")
    }

    @Test(arguments: ["a=%", "a=%4", "a=%G1", "a=%c3%28", "a=%00"])
    func rejectsMalformed(body: String) {
        #expect(throws: OAuthError.self) { try FormDecoding.decode(Array(body.utf8)) }
    }
}

/// Counts how often it is asked, to prove the app asks the route's handler once per request.
final class CountingPage: VerificationResponder {
    var calls = 0
    func respond(to route: VerificationRoute, _ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        calls += 1
        return HTTPResponse(status: 200)
    }
}

struct RequestHandlerRoutingTests {
    @Test func theAnsweringHandlerRunsExactlyOnce() throws {
        let f = try AppFixture()
        let counting = CountingPage()
        let app = DeviceGateApp(configuration: f.config, routes: f.app.routes, oauth: f.app.oauth, oidc: f.app.oidc, metrics: f.app.metrics,
                                verification: counting, telemetry: f.app.telemetry, clock: f.clock,
                                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(app.handle(HTTPRequest(method: "GET", path: "/device/counted")).status == 200)
        #expect(counting.calls == 1)
        #expect(app.handle(HTTPRequest(method: "GET", path: "/other")).status == 404)
        #expect(counting.calls == 1)
    }
}
