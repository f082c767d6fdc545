import DeviceFlow
import DeviceGateTesting
import Testing

/// RFC 8628 §3.5 polling decisions, one row per case, with an injected clock.
struct DevicePollingTests {
    static let t0 = UnixTime(seconds: 1_800_000_000)
    static let approval = DeviceFlowRecord.Approval(subject: "alice", authTime: t0.adding(seconds: 20), approvedAt: t0.adding(seconds: 30))

    static func record(_ status: DeviceFlowRecord.Status = .pending, client: String = "tv") -> DeviceFlowRecord {
        DeviceFlowRecord(id: String(repeating: "a", count: 64), userCodeKey: String(repeating: "b", count: 64), clientID: client,
                         scope: ScopeSet(["openid"]), createdAt: t0, expiresAt: t0.adding(seconds: 600), interval: 5, status: status)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var record: DeviceFlowRecord?
        var poll: PollState
        var client = "tv"
        var atSecond: Int64
        /// Added to `atSecond`, for rows that sit a millisecond off a boundary.
        var plusMilliseconds: Int64 = 0
        var expected: PollDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown code is invalid_grant", record: nil, poll: .init(interval: 5), atSecond: 10,
             expected: .refuse(.invalidGrant("unknown device_code"), poll: nil)),
        Case(name: "another client's code is invalid_grant (CVE-2023-2585 class)", record: record(), poll: .init(interval: 5), client: "other-tv", atSecond: 10,
             expected: .refuse(.invalidGrant("device_code was not issued to this client"), poll: nil)),
        Case(name: "first poll of a pending flow is authorization_pending", record: record(), poll: .init(interval: 5), atSecond: 10,
             expected: .refuse(.authorizationPending, poll: .init(lastPollAt: t0.adding(seconds: 10), interval: 5))),
        Case(name: "poll exactly one interval later is pending", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 10), interval: 5), atSecond: 15,
             expected: .refuse(.authorizationPending, poll: .init(lastPollAt: t0.adding(seconds: 15), interval: 5))),
        Case(name: "poll sooner than the interval is slow_down and grows it by 5 s", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 10), interval: 5), atSecond: 14,
             expected: .refuse(.slowDown, poll: .init(lastPollAt: t0.adding(seconds: 14), interval: 10))),
        Case(name: "a grown interval is enforced on later polls", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 14), interval: 10), atSecond: 20,
             expected: .refuse(.slowDown, poll: .init(lastPollAt: t0.adding(seconds: 20), interval: 15))),
        Case(name: "a poll after the grown interval is pending and keeps the interval", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 20), interval: 15), atSecond: 35,
             expected: .refuse(.authorizationPending, poll: .init(lastPollAt: t0.adding(seconds: 35), interval: 15))),
        Case(name: "lost soft state never shrinks below the granted interval", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 10), interval: 0), atSecond: 12,
             expected: .refuse(.slowDown, poll: .init(lastPollAt: t0.adding(seconds: 12), interval: 10))),
        Case(name: "denied is access_denied", record: record(.denied(at: t0.adding(seconds: 30))), poll: .init(interval: 5), atSecond: 40,
             expected: .refuse(.accessDenied, poll: nil)),
        Case(name: "approved is redeemed, even when polled fast", record: record(.approved(approval)), poll: .init(lastPollAt: t0.adding(seconds: 39), interval: 5), atSecond: 40,
             expected: .redeem(approval)),
        Case(name: "redeemed presented again is a replay (RFC 6749 §4.1.2)", record: record(.redeemed(approval, at: t0.adding(seconds: 41))), poll: .init(interval: 5), atSecond: 45,
             expected: .replayed(approval)),
        Case(name: "another client's redeemed code is plain invalid_grant, no replay", record: record(.redeemed(approval, at: t0.adding(seconds: 41))), poll: .init(interval: 5), client: "other-tv", atSecond: 45,
             expected: .refuse(.invalidGrant("device_code was not issued to this client"), poll: nil)),
        Case(name: "expired pending is expired_token", record: record(), poll: .init(interval: 5), atSecond: 600,
             expected: .refuse(.expiredToken, poll: nil)),
        Case(name: "expired approved is expired_token, never tokens", record: record(.approved(approval)), poll: .init(interval: 5), atSecond: 601,
             expected: .refuse(.expiredToken, poll: nil)),
        Case(name: "expired denied is expired_token", record: record(.denied(at: t0)), poll: .init(interval: 5), atSecond: 700,
             expected: .refuse(.expiredToken, poll: nil)),
        Case(name: "redeemed and expired is still a replay", record: record(.redeemed(approval, at: t0)), poll: .init(interval: 5), atSecond: 700,
             expected: .replayed(approval)),
        Case(name: "one millisecond before expiry still pends", record: record(), poll: .init(lastPollAt: t0.adding(seconds: 590), interval: 5),
             atSecond: 600, plusMilliseconds: -1,
             expected: .refuse(.authorizationPending, poll: .init(lastPollAt: t0.adding(milliseconds: 599_999), interval: 5))),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        let now = Self.t0.adding(seconds: c.atSecond).adding(milliseconds: c.plusMilliseconds)
        #expect(DevicePolling.decide(record: c.record, poll: c.poll, clientID: c.client, now: now) == c.expected)
    }

    @Test func expiryBoundaryIsExclusive() {
        let r = Self.record()
        let justBefore = r.expiresAt.adding(milliseconds: -1)
        #expect(DevicePolling.decide(record: r, poll: .init(interval: 5), clientID: "tv", now: justBefore)
                == .refuse(.authorizationPending, poll: .init(lastPollAt: justBefore, interval: 5)))
        #expect(DevicePolling.decide(record: r, poll: .init(interval: 5), clientID: "tv", now: r.expiresAt) == .refuse(.expiredToken, poll: nil))
    }

    @Test func repeatedFastPollsKeepGrowingTheInterval() {
        let clock = ManualClock(Self.t0)
        var poll = PollState(interval: 5)
        var intervals: [Int] = []
        for _ in 0..<4 {
            clock.advance(seconds: 1)
            if case .refuse(_, let newPoll?) = DevicePolling.decide(record: Self.record(), poll: poll, clientID: "tv", now: clock.now()) {
                poll = newPoll
                intervals.append(newPoll.interval)
            }
        }
        #expect(intervals == [5, 10, 15, 20])
    }
}

struct FlowDecisionTests {
    static let t0 = DevicePollingTests.t0

    @Test func approveBindsSubjectAndAuthTime() throws {
        let r = DevicePollingTests.record()
        let approved = try FlowDecision.approve(r, subject: "alice", authTime: Self.t0.adding(seconds: 5), now: Self.t0.adding(seconds: 9)).get()
        #expect(approved.status == .approved(.init(subject: "alice", authTime: Self.t0.adding(seconds: 5), approvedAt: Self.t0.adding(seconds: 9))))
    }

    @Test(arguments: [
        (DeviceFlowRecord.Status.approved(DevicePollingTests.approval), DecisionRefusal.alreadyApproved),
        (.denied(at: DevicePollingTests.t0), .alreadyDenied),
        (.redeemed(DevicePollingTests.approval, at: DevicePollingTests.t0), .alreadyRedeemed),
    ])
    func decidedFlowsCannotBeChanged(status: DeviceFlowRecord.Status, refusal: DecisionRefusal) {
        let r = DevicePollingTests.record(status)
        #expect(FlowDecision.approve(r, subject: "mallory", authTime: Self.t0, now: Self.t0) == .failure(refusal))
        #expect(FlowDecision.deny(r, now: Self.t0) == .failure(refusal))
    }

    @Test func expiredAndUnknownAreRefused() {
        let r = DevicePollingTests.record()
        #expect(FlowDecision.approve(r, subject: "a", authTime: Self.t0, now: r.expiresAt) == .failure(.expired))
        #expect(FlowDecision.deny(nil, now: Self.t0) == .failure(.unknownCode))
    }
}
