import DeviceFlow
import DeviceGateHTTP
import DeviceGateTesting
import Observability
import Testing

/// What the audit log says about a flow and about attacks on the verification page.
@Suite struct AuditTrailTests {
    @Test func aWholeFlowLeavesStartApprovalSignInAndRedemption() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f, address: "198.51.100.20")
        browser.signIn(code: user)
        #expect(browser.decide("approve", code: user).status == 200)
        #expect(f.poll(device).status == 200)
        #expect(f.audit.kinds() == [.flowStarted, .signInSucceeded, .flowApproved, .tokenIssued])
        let flowID = String(Encoding.sha256Hex(device).prefix(12))
        let approved = f.audit.events[2]
        #expect(approved.user == "alice" && approved.clientID == "tv" && approved.address == "198.51.100.20" && approved.flowID == flowID)
        #expect(approved.details.contains { $0 == ("via", "web") })
        let issued = f.audit.events[3]
        #expect(issued.user == "alice" && issued.flowID == flowID && issued.details.contains { $0 == ("grant", "device_code") })
        // No secret reaches the log: not the device code, not the user code, not the password.
        let log = f.audit.lines().joined(separator: "\n")
        for secret in [device, user, user.replacingOccurrences(of: "-", with: ""), WebFixture.alicePassword] {
            #expect(!log.contains(secret))
        }
    }

    @Test func aSecondRedemptionIsRefusedAndAudited() throws {
        let f = try WebFixture()
        let (device, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn(code: user)
        browser.decide("approve", code: user)
        #expect(f.poll(device).status == 200)
        #expect(f.poll(device).error == "invalid_grant")
        // The replay revokes what the code produced, and the log says why (RFC 6749 §4.1.2).
        #expect(f.audit.kinds().suffix(3) == [.tokenIssued, .grantRefused, .tokenRevoked])
        let revoked = try #require(f.audit.events.last)
        #expect(revoked.user == "alice" && revoked.flowID == String(Encoding.sha256Hex(device).prefix(12)))
        #expect(revoked.details.contains { $0 == ("reason", "device_code_reused") })
    }

    @Test func denialIsAudited() throws {
        let f = try WebFixture()
        let (_, user) = try f.startFlow()
        let browser = Browser(f)
        browser.signIn(code: user)
        browser.decide("deny", code: user)
        #expect(f.audit.kinds().last == .flowDenied)
        #expect(f.audit.events.last?.user == "alice")
    }

    @Test func failedSignInsAreAuditedAndTheLockoutOnce() throws {
        let f = try WebFixture { config, _ in config.web.limits.signInPerUser = .init(maximum: 3, windowSeconds: 900) }
        for i in 0..<3 { Browser(f, address: "198.51.100.\(i)").signIn("alice", "guess\(i)") }
        #expect(Browser(f, address: "198.51.100.9").signIn().status == 429)  // locked: refused, not counted again
        #expect(f.audit.kinds() == [.signInFailed, .signInFailed, .signInFailed, .lockout])
        let lockout = f.audit.events[3]
        #expect(lockout.user == "alice" && lockout.address == "198.51.100.2")
        #expect(lockout.details.first { $0.0 == "limit" }?.1 == "sign_in_per_user")
        #expect(lockout.details.first { $0.0 == "until" }?.1 == Timestamp.iso8601(f.clock.now().adding(seconds: 900)))
        #expect(f.audit.events[0].details.contains { $0 == ("reason", "wrong password") })
    }

    @Test func guessedUserCodesAreAuditedWithoutTheCodeAndLockOut() throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 3, windowSeconds: 600) }
        let attacker = Browser(f, address: "203.0.113.66")
        for code in ["BBBB-BBBB", "bad", "CCCC-CCCC"] { attacker.enter(code) }
        #expect(f.audit.kinds() == [.userCodeRejected, .userCodeRejected, .userCodeRejected, .lockout])
        #expect(f.audit.events.prefix(3).map { $0.details.first { $0.0 == "reason" }?.1 } == ["unknown", "malformed", "unknown"])
        #expect(f.audit.events[3].details.first { $0.0 == "limit" }?.1 == "user_code_per_ip")
        #expect(!f.audit.lines().joined().contains("BBBB"))
    }
}
