import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import Logging
import Observability
import Testing

/// Item 2 of the hostile review through the app: caps on pending flows per address and per
/// client (429), the reserve (503), and unknown device codes audited in aggregate.
struct FloodDefenceTests {
    func fixture(perAddress: Int = 3, perClient: Int = 5, perNetwork: Int = 4, reading: FilesystemReading? = nil) throws -> (AppFixture, RecordingAuditSink) {
        let sink = RecordingAuditSink()
        let f = try AppFixture(configure: { config in
            config.admission.maxPendingPerClient = perClient
            config.admission.maxPendingPerAddress = perAddress
            config.admission.maxPendingPerIPv6Network48 = perNetwork
            config.admission.reservePercent = 10
            config.admission.reserveCheckIntervalMilliseconds = 0
        }, storage: { storage in
            storage.filesystemReading = reading.map { reading in { reading } }
        }, telemetry: Telemetry(audit: sink, counters: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        return (f, sink)
    }

    func authorize(_ f: AppFixture, from address: String) -> HTTPResponse {
        f.app.handle(HTTPRequest(method: "POST", path: "/application/o/device/", contentType: "application/x-www-form-urlencoded",
                                 remoteAddress: address, body: Array("client_id=tv".utf8)))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var addresses: [String]
        var statuses: [Int]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "one IPv4 address: three admitted, the fourth refused",
             addresses: ["192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1"], statuses: [200, 200, 200, 429]),
        Case(name: "a second address keeps its own budget",
             addresses: ["192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"], statuses: [200, 200, 200, 429, 200]),
        Case(name: "IPv6 addresses of one /64 share a budget",
             addresses: ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4", "2001:db8:1:3::1"], statuses: [200, 200, 200, 429, 200]),
        Case(name: "an IPv4-mapped address is its IPv4 address",
             addresses: ["::ffff:192.0.2.9", "192.0.2.9", "192.0.2.9", "::ffff:192.0.2.9"], statuses: [200, 200, 200, 429]),
        Case(name: "the /64s of one IPv6 /48 share the /48's budget; another /48 has its own",
             addresses: ["2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:4::1", "2001:db8:1:5::1", "2001:db8:2:1::1"],
             statuses: [200, 200, 200, 200, 429, 200]),
        Case(name: "the client's cap holds over every address",
             addresses: ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"], statuses: [200, 200, 200, 200, 200, 429]),
    ]

    @Test(arguments: cases)
    func capsPerAddressAndPerClient(_ c: Case) throws {
        let (f, _) = try fixture()
        let statuses = c.addresses.map { authorize(f, from: $0).status }
        #expect(statuses == c.statuses)
    }

    /// Over a cap: RFC 6749 §5.2 JSON, 429, `temporarily_unavailable`, Retry-After until a
    /// place frees; and the places free themselves when the codes expire.
    @Test func refusalIsJSONWithRetryAfterAndHealsWithTime() throws {
        let (f, _) = try fixture(perAddress: 1)
        #expect(authorize(f, from: "192.0.2.1").status == 200)
        let refused = authorize(f, from: "192.0.2.1")
        #expect(refused.status == 429)
        #expect(try JSON(refused)["error"] == "temporarily_unavailable")
        let retry = try #require(refused.headers.first { $0.0 == "Retry-After" }.flatMap { Int($0.1) })
        #expect(retry > 600 && retry <= 600 + 43)
        f.clock.advance(seconds: Int64(retry) - 1)
        #expect(authorize(f, from: "192.0.2.1").status == 429)
        f.clock.advance(seconds: 1)
        #expect(authorize(f, from: "192.0.2.1").status == 200)
    }

    /// The count is a function of time alone: approving, denying, redeeming and collecting
    /// flows neither frees a place early nor leaks one; every place frees at its expiry.
    @Test func countNeitherDriftsNorLeaksThroughTheFlowsLife() throws {
        let (f, _) = try fixture(perAddress: 2)
        let flows = [try JSON(authorize(f, from: "192.0.2.1")), try JSON(authorize(f, from: "192.0.2.1"))]
        let codes = flows.map { ($0["device_code"]!, $0["user_code"]!) }
        _ = try f.service.approve(userCode: codes[0].1, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect(f.poll(codes[0].0).status == 200)
        _ = try f.service.deny(userCode: codes[1].1, now: f.clock.now())
        #expect(authorize(f, from: "192.0.2.1").status == 429)
        f.clock.advance(seconds: 601)
        f.store.collectExpired(now: f.clock.now(), retentionSeconds: 0)
        f.clock.advance(seconds: 43)
        #expect(authorize(f, from: "192.0.2.1").status == 200)
        #expect(authorize(f, from: "192.0.2.1").status == 200)
        #expect(authorize(f, from: "192.0.2.1").status == 429)
    }

    /// Below the reserve, new device authorizations get 503 while an existing flow is still
    /// approved and redeemed.
    @Test func reserveRefusesNewFlowsOnly() throws {
        var free: UInt64 = 900
        let f = try AppFixture(configure: { config in
            config.admission.reservePercent = 10
            config.admission.reserveCheckIntervalMilliseconds = 0
        }, storage: { storage in
            storage.filesystemReading = { FilesystemReading(blocksTotal: 1000, blocksAvailable: 900, inodesTotal: 1000, inodesAvailable: free) }
        })
        let (deviceCode, userCode) = try f.start()
        free = 99
        let refused = f.authorize()
        #expect(refused.status == 503)
        #expect(try JSON(refused)["error"] == "temporarily_unavailable")
        #expect(refused.headers.contains { $0.0 == "Retry-After" })
        let approved = try f.service.approve(userCode: userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect((try? approved.get()) != nil)
        #expect(f.poll(deviceCode).status == 200)
        free = 100
        #expect(f.authorize().status == 200)
    }

    func pollUnknown(_ f: AppFixture, from address: String) -> HTTPResponse {
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=tv&device_code=guess\(address.hashValue)"
        return f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded",
                                        remoteAddress: address, body: Array(body.utf8)))
    }

    /// 300 unknown codes from two addresses in one minute: no line while the minute runs, one
    /// line per address with its count at the first request after it; other invalid_grant
    /// answers (a real flow's) are still audited one by one.
    @Test func unknownCodesAreAuditedOncePerAddressAMinute() throws {
        let (f, sink) = try fixture(perAddress: 0, perClient: 0)
        f.clock.advance(milliseconds: -f.clock.now().milliseconds % 60_000)  // the start of a minute
        for i in 0..<300 {
            let r = pollUnknown(f, from: i % 3 == 0 ? "2001:db8::\(i)" : "192.0.2.7")
            #expect(r.status == 400)
            f.clock.advance(milliseconds: 100)
        }
        #expect(sink.events.count == 0)
        f.clock.advance(seconds: 30)
        _ = f.app.handle(HTTPRequest(method: "GET", path: "/nothing-here"))
        let lines = sink.lines()
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains("\"ip\":\"192.0.2.7\"") && $0.contains("\"count\":\"200\"") })
        #expect(lines.contains { $0.contains("\"ip\":\"20010db800000000::/64\"") && $0.contains("\"count\":\"100\"") })
        #expect(lines.allSatisfy { $0.contains("\"event\":\"grant.refused\"") && $0.contains("\"reason\":\"unknown device_code\"") })
        // A real flow's refusal (another client's code) keeps its own line at once.
        let (deviceCode, _) = try f.start()
        _ = f.poll(deviceCode, client: "other-tv")
        #expect(sink.events.count == 4)  // flow.started, then grant.refused
        #expect(sink.lines().last?.contains("not issued to this client") == true)
    }

    /// Unknown refresh tokens are guessing too: one line per address a minute, kept apart
    /// from unknown device codes (its own `grant` and `reason`), never one per request.
    @Test func unknownRefreshTokensAreAuditedOncePerAddressAMinute() throws {
        let (f, sink) = try fixture(perAddress: 0, perClient: 0)
        f.clock.advance(milliseconds: -f.clock.now().milliseconds % 60_000)
        for i in 0..<50 {
            let body = "grant_type=refresh_token&client_id=tv&refresh_token=guess\(i)"
            let r = f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded",
                                             remoteAddress: "192.0.2.9", body: Array(body.utf8)))
            #expect(r.status == 400)
            _ = pollUnknown(f, from: "192.0.2.9")
            f.clock.advance(milliseconds: 100)
        }
        #expect(sink.events.count == 0)
        f.clock.advance(seconds: 60)
        _ = f.app.handle(HTTPRequest(method: "GET", path: "/nothing-here"))
        let lines = sink.lines()
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains("\"grant\":\"refresh_token\"") && $0.contains("\"reason\":\"unknown refresh_token\"") && $0.contains("\"count\":\"50\"") })
        #expect(lines.contains { $0.contains("\"grant\":\"device_code\"") && $0.contains("\"reason\":\"unknown device_code\"") && $0.contains("\"count\":\"50\"") })
    }

    /// Unknown authorization codes likewise: one line per address a minute, never one per request.
    @Test func unknownAuthorizationCodesAreAuditedOncePerAddressAMinute() throws {
        let sink = RecordingAuditSink()
        let f = try AppFixture(configure: addWebClients, telemetry: Telemetry(audit: sink, counters: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        f.clock.advance(milliseconds: -f.clock.now().milliseconds % 60_000)
        for i in 0..<30 {
            let body = "grant_type=authorization_code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=\(String(repeating: "v", count: 43))&code=guess\(i)"
            let r = f.app.handle(HTTPRequest(method: "POST", path: "/application/o/token/", contentType: "application/x-www-form-urlencoded",
                                             remoteAddress: "192.0.2.10", body: Array(body.utf8)))
            #expect(r.status == 400)
            f.clock.advance(milliseconds: 100)
        }
        #expect(sink.events.count == 0)
        f.clock.advance(seconds: 60)
        _ = f.app.handle(HTTPRequest(method: "GET", path: "/nothing-here"))
        let lines = sink.lines()
        #expect(lines.count == 1)
        #expect(lines.first?.contains("\"grant\":\"authorization_code\"") == true && lines.first?.contains("\"count\":\"30\"") == true)
    }
}
