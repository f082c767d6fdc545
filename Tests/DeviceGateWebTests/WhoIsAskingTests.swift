import DeviceFlow
import DeviceGateHTTP
import DeviceGateTesting
@testable import DeviceGateWeb
import Testing

/// The consent page's "who is asking" (RFC 8628 §5.4): the age, the network, the address and
/// the device's product, and the stronger warning when the networks differ.
@Suite struct WhoIsAskingTests {
    static let english = Localisation.builtIn.fallback

    // MARK: Pure: the words and the warning

    @Test(arguments: [
        (0, "just now"), (-30, "just now"), (59, "just now"), (60, "1 minute ago"), (119, "1 minute ago"),
        (120, "2 minutes ago"), (3599, "59 minutes ago"), (3600, "1 hour ago"), (7199, "1 hour ago"), (7200, "2 hours ago"),
        (86_399, "23 hours ago"), (86_400, "1 day ago"), (3 * 86_400 + 5, "3 days ago"), (30 * 86_400 - 1, "29 days ago"),
    ] as [(Int64, String)])
    func agesReadAsWords(_ seconds: Int64, _ words: String) {
        let then = UnixTime(seconds: 1_800_000_000)
        #expect(TimeInWords.since(then, now: then.adding(seconds: seconds)).text(in: Self.english) == words)
    }

    @Test func aMonthAndMoreIsADate() {
        // 1_800_000_000 is 2027-01-15T08:00:00Z.
        let then = UnixTime(seconds: 1_800_000_000)
        #expect(TimeInWords.since(then, now: then.adding(seconds: 30 * 86_400)).text(in: Self.english) == "on 2027-01-15")
        #expect(TimeInWords.since(then, now: then.adding(seconds: 400 * 86_400)).text(in: Self.english) == "on 2027-01-15")
    }

    struct Networks: Sendable, CustomStringConvertible {
        var device: String, approver: String, same: Bool
        var description: String { "\(device) / \(approver)" }
    }

    @Test(arguments: [
        Networks(device: "198.51.100.7", approver: "198.51.100.200", same: true),
        Networks(device: "198.51.100.7", approver: "198.51.101.7", same: false),
        Networks(device: "2001:db8:1:2::5", approver: "2001:db8:1:2:ffff::1", same: true),
        Networks(device: "2001:db8:1:2::5", approver: "2001:db8:1:3::5", same: false),
        Networks(device: "::ffff:198.51.100.7", approver: "198.51.100.9", same: true),
        Networks(device: "198.51.100.7", approver: "::ffff:198.51.100.9", same: true),
        Networks(device: "198.51.100.7", approver: "2001:db8::1", same: false),
    ])
    func theWarningIsStrongerAcrossNetworks(_ n: Networks) throws {
        let now = UnixTime(seconds: 1_800_000_000)
        let record = DeviceFlowRecord(id: "f", userCodeKey: "k", clientID: "tv", scope: ScopeSet(["openid"]), createdAt: now,
                                      expiresAt: now.adding(seconds: 600), interval: 5,
                                      requester: DeviceRequester(address: n.device, userAgent: "curl/8.5.0"))
        let asking = try #require(WhoIsAsking(record, approverAddress: n.approver, now: now))
        #expect(asking.sameNetwork == n.same)
        #expect(asking.warning == (n.same ? .usual : .urgent))
        let values = asking.values(in: Self.english)
        #expect(values["asking_network"] as? String == (n.same ? "your network" : "another network"))
        #expect((values["asking_urgent"] != nil) == !n.same)
        #expect(values["asking_urgent_title"] as? String == (n.same ? nil : "This request came from a different network than yours."))
    }

    /// An address that is missing or not an address gets the urgent warning too, worded as what
    /// is known: the network cannot be checked, not "a different network".
    @Test(arguments: ["", "unix:", "198.51.100"])
    func anAddressThatCannotBeComparedIsNotCalledAnotherNetwork(_ device: String) throws {
        let now = UnixTime(seconds: 1_800_000_000)
        let record = DeviceFlowRecord(id: "f", userCodeKey: "k", clientID: "tv", scope: ScopeSet(["openid"]), createdAt: now,
                                      expiresAt: now.adding(seconds: 600), interval: 5,
                                      requester: DeviceRequester(address: device, userAgent: nil))
        let asking = try #require(WhoIsAsking(record, approverAddress: "198.51.100.7", now: now))
        #expect(asking.warning == .urgent)
        let values = asking.values(in: Self.english)
        #expect(values["asking_network"] as? String == "an unknown network")
        #expect(values["asking_urgent_title"] as? String == "Where this request came from cannot be checked.")
    }

    @Test func aRecordWithoutRequesterShowsNothing() {
        let now = UnixTime(seconds: 1_800_000_000)
        let record = DeviceFlowRecord(id: "f", userCodeKey: "k", clientID: "tv", scope: ScopeSet(["openid"]), createdAt: now,
                                      expiresAt: now.adding(seconds: 600), interval: 5)
        #expect(WhoIsAsking(record, approverAddress: "198.51.100.7", now: now) == nil)
    }

    // MARK: The consent page, reached as a person reaches it

    /// A device authorization from `address` with `userAgent`, then `wait` seconds, then the
    /// consent page for a person at `approver`: the page's tokens.
    static func consent(deviceAt address: String, userAgent: String?, approverAt approver: String, wait: Int64 = 125,
                        dropRequester: Bool = false) throws -> [StrictHTML.Token] {
        let f = try WebFixture()
        let response = f.app.handle(HTTPRequest(method: "POST", path: "/application/o/device/", contentType: "application/x-www-form-urlencoded",
                                                userAgent: userAgent, remoteAddress: address, body: Array("client_id=tv".utf8)))
        try #require(response.status == 200, "\(response.bodyText)")
        let device = try #require(jsonField(response.bodyText, "device_code")), user = try #require(jsonField(response.bodyText, "user_code"))
        if dropRequester {
            // As a flow written before the requester was kept reads back.
            try f.store.updateFlow(id: Encoding.sha256Hex(device)) { record, _ in
                var old = record!
                old.requester = nil
                return FlowUpdate(record: old, result: ())
            }
        }
        f.clock.advance(seconds: wait)
        let browser = Browser(f, address: approver)
        browser.signIn()
        let page = browser.enter(user)
        try #require(page.status == 200 && page.bodyText.contains("name=\"flow\""), "no consent page: \(page.bodyText)")
        return try StrictHTML.tokens(page.bodyText)
    }

    /// The text of the element after the first start tag with `class` = `className`.
    static func text(after className: String, in tokens: [StrictHTML.Token]) -> String? {
        guard let at = tokens.firstIndex(where: { if case .start(_, let a) = $0 { a.contains { $0.name == "class" && $0.value == className } } else { false } }),
              at + 1 < tokens.count, case .text(let text) = tokens[at + 1] else { return nil }
        return text
    }

    static func hasClass(_ className: String, _ tokens: [StrictHTML.Token]) -> Bool {
        tokens.contains { if case .start(_, let a) = $0 { a.contains { $0.name == "class" && $0.value == className } } else { false } }
    }

    static func allText(_ tokens: [StrictHTML.Token]) -> String {
        tokens.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }

    @Test func theSameNetworkSaysSoWithTheAgeAddressAndProduct() throws {
        let tokens = try Self.consent(deviceAt: "198.51.100.7", userAgent: "curl/8.5.0 (x86_64-pc-linux-gnu)", approverAt: "198.51.100.42")
        let text = Self.allText(tokens)
        #expect(text.contains("2 minutes ago"))
        #expect(text.contains("your network") && !text.contains("another network"))
        #expect(Self.text(after: "address", in: tokens) == "198.51.100.7")
        #expect(Self.text(after: "product", in: tokens) == "curl/8.5.0")
        #expect(!Self.hasClass("warning urgent", tokens))
        #expect(Self.hasClass("warning", tokens), "the §5.4 warning stays")
    }

    @Test func anotherNetworkGetsTheUrgentWarning() throws {
        let tokens = try Self.consent(deviceAt: "2001:db8:1:2::5", userAgent: "SmartTV/2.1", approverAt: "2001:db8:9:9::1", wait: 30)
        let text = Self.allText(tokens)
        #expect(text.contains("just now") && text.contains("another network"))
        #expect(Self.hasClass("warning urgent", tokens))
        #expect(text.contains("This request came from a different network than yours."))
        #expect(Self.hasClass("warning", tokens), "the usual warning stays too")
    }

    @Test func anIPv4MappedDeviceOnTheApproversSlash24IsTheSameNetwork() throws {
        let tokens = try Self.consent(deviceAt: "::ffff:198.51.100.7", userAgent: nil, approverAt: "198.51.100.99")
        #expect(Self.allText(tokens).contains("your network"))
        #expect(!Self.hasClass("warning urgent", tokens))
        #expect(!Self.hasClass("product", tokens), "no User-Agent, no product line")
    }

    @Test func aFlowWithoutRequesterShowsNoneOfIt() throws {
        let tokens = try Self.consent(deviceAt: "198.51.100.7", userAgent: "curl/8.5.0", approverAt: "203.0.113.1", dropRequester: true)
        #expect(!Self.hasClass("asking", tokens) && !Self.hasClass("warning urgent", tokens))
        #expect(Self.hasClass("warning", tokens))
    }

    /// A device's User-Agent is hostile: whatever it sends, the consent page keeps the
    /// structure of the page a plain product gives (DeviceRequester shortens it, the page
    /// escapes what is left).
    @Test(arguments: Hostile.values + ["x'&`/1<img src=x>", "Evil&amp;/1.0\"><script>", "curl/8.5.0\r\nSet-Cookie: a=b", "\u{202E}tv/1"])
    func aHostileUserAgentInjectsNothing(_ userAgent: String) throws {
        let hostile = try Self.consent(deviceAt: "198.51.100.7", userAgent: userAgent, approverAt: "203.0.113.1")
        let shortened = UserAgentProduct.shorten(userAgent)
        let benign = try Self.consent(deviceAt: "198.51.100.7", userAgent: shortened == nil ? nil : "curl/8.5.0", approverAt: "203.0.113.1")
        #expect(StrictHTML.shape(hostile) == StrictHTML.shape(benign))
        #expect(Self.text(after: "product", in: hostile) == shortened)
    }
}
