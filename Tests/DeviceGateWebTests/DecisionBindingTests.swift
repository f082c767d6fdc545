import DeviceFlow
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import Testing

/// A decision applies to the flow the consent page showed, not to whatever flow holds the
/// code when the button is pressed (issue 10, item 7).
@Suite struct DecisionBindingTests {
    /// Flow A is shown; A expires and flow B (another client) draws the same user code; the
    /// person presses Approve (or Deny) on A's page: B stays pending, the person is told to
    /// enter the code again.
    @Test(arguments: ["approve", "deny"])
    func aDecisionOnAShownFlowDoesNotReachTheFlowThatNowHoldsItsCode(_ action: String) throws {
        let f = try WebFixture()
        let (deviceA, user) = try f.startFlow(client: "tv")
        let browser = Browser(f)
        browser.signIn()
        let consent = browser.enter(user)
        try #require(consent.status == 200 && consent.bodyText.contains("Living-room TV"))
        let shownA = try #require(try f.flow(deviceA))
        f.clock.advance(seconds: 601)
        let now = f.clock.now()
        let flowB = DeviceFlowRecord(id: Encoding.sha256Hex("device code of B"), userCodeKey: shownA.userCodeKey, clientID: "other-tv",
                                     scope: ScopeSet(["openid"]), createdAt: now, expiresAt: now.adding(seconds: 600), interval: 5)
        try f.store.createFlow(flowB)
        try #require(try f.app.service.lookUp(userCode: user)?.id == flowB.id, "the code does not name flow B")

        let r = browser.decide(action, code: user)
        #expect(r.status == 409)
        #expect(r.bodyText.contains("Enter the code shown on your device again"))
        #expect(r.bodyText.contains("Nothing was changed"))
        let b = try #require(try f.store.updateFlow(id: flowB.id) { record, _ in FlowUpdate(result: record) })
        #expect(b.status == .pending)
        #expect(f.audit.events.contains { $0.kind == .userCodeRejected })
    }

    @Test(arguments: ["approve", "deny"])
    func theShownFlowIsDecidedAsBefore(_ action: String) throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn()
        browser.enter(user)
        #expect(browser.flow?.count == 64)
        #expect(browser.decide(action, code: user).status == 200)
        #expect(try f.flow(device)?.status.name == (action == "approve" ? "approved" : "denied"))
    }

    @Test(arguments: [nil, "", "00", String(repeating: "0", count: 64)])
    func aMissingOrForgedBindingDecidesNothing(_ binding: String?) throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn()
        browser.enter(user)
        browser.flow = binding
        #expect(browser.decide("approve", code: user).status == 409)
        #expect(try f.flow(device)?.status == .pending)
    }

    /// The binding names the session too: a consent page shown to one session does not work
    /// for another one, even with that session's own CSRF token.
    @Test func aBindingFromAnotherSessionDecidesNothing() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let first = Browser(f), second = Browser(f, address: "203.0.113.8")
        first.signIn()
        first.enter(user)
        second.signIn()
        second.enter(user)
        second.flow = first.flow
        #expect(second.decide("approve", code: user).status == 409)
        #expect(try f.flow(device)?.status == .pending)
    }

    @Test func anOverrideConsentPageWithoutTheBindingIsRefusedAtStart() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/consent.mustache", "{{> header}}<form><input name=\"csrf_token\" value=\"{{csrf_token}}\"></form>{{> footer}}")
        #expect { _ = try PageTemplates(directory: temp.path) } throws: { "\($0)".contains("flow_binding") }
    }
}
