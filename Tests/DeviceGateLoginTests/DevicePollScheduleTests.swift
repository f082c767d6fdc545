import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing

/// RFC 8628 §3.4-3.5 polling, stepped with an injected clock.
@Suite struct DevicePollScheduleTests {
    static func authorization(interval: Int = 5, expiresIn: Int = 600) -> DeviceAuthorization {
        DeviceAuthorization(deviceCode: "d", userCode: "BCDF-GHJK", verificationURI: "https://i/device",
                            verificationURIComplete: nil, expiresIn: expiresIn, interval: interval)
    }

    static func error(_ code: String) -> TokenEndpointAnswer { .error(code: code, description: nil) }

    @Test func firstPollWaitsOneInterval() {
        #expect(DevicePollSchedule(authorization: Self.authorization(interval: 7), startedAt: 100).first == .poll(after: 7))
    }

    @Test func pendingKeepsTheInterval() {
        var schedule = DevicePollSchedule(authorization: Self.authorization(), startedAt: 0)
        #expect(schedule.next(after: Self.error("authorization_pending"), now: 5) == .poll(after: 5))
        #expect(schedule.next(after: Self.error("authorization_pending"), now: 10) == .poll(after: 5))
    }

    /// §3.5: "increased by 5 seconds for this and all subsequent requests".
    @Test func slowDownAddsFiveSecondsForGood() {
        var schedule = DevicePollSchedule(authorization: Self.authorization(), startedAt: 0)
        #expect(schedule.next(after: Self.error("slow_down"), now: 5) == .poll(after: 10))
        #expect(schedule.next(after: Self.error("authorization_pending"), now: 15) == .poll(after: 10))
        #expect(schedule.next(after: Self.error("slow_down"), now: 25) == .poll(after: 15))
        #expect(schedule.interval == 15)
    }

    @Test(arguments: [
        ("access_denied", LoginFailure.accessDenied.status),
        ("expired_token", LoginFailure.expiredToken.status),
        ("invalid_client", Int32(1)),
        ("invalid_grant", Int32(1)),
    ])
    func errorsStopWithTheirStatus(code: String, status: Int32) {
        var schedule = DevicePollSchedule(authorization: Self.authorization(), startedAt: 0)
        guard case .fail(let failure) = schedule.next(after: Self.error(code), now: 5) else {
            Issue.record("\(code) must stop the polling")
            return
        }
        #expect(failure.status == status)
    }

    @Test func tokensFinish() {
        var schedule = DevicePollSchedule(authorization: Self.authorization(), startedAt: 0)
        let tokens = JSONObject(members: ["access_token": "a", "token_type": "Bearer"])
        #expect(schedule.next(after: .tokens(tokens), now: 5) == .done)
    }

    /// A server that says pending after expires_in is not believed.
    @Test func pendingAfterTheDeadlineIsExpired() {
        var schedule = DevicePollSchedule(authorization: Self.authorization(expiresIn: 60), startedAt: 1000)
        #expect(schedule.next(after: Self.error("authorization_pending"), now: 1059.9) == .poll(after: 5))
        #expect(schedule.next(after: Self.error("authorization_pending"), now: 1060) == .fail(.expiredToken))
        #expect(schedule.secondsLeft(now: 1030.2) == 30)
        #expect(schedule.secondsLeft(now: 2000) == 0)
    }

    @Test func serverFailureIsANetworkFailure() {
        var schedule = DevicePollSchedule(authorization: Self.authorization(), startedAt: 0)
        guard case .fail(let failure) = schedule.next(after: .unavailable(status: 502), now: 5) else {
            Issue.record("a 502 must stop the polling")
            return
        }
        #expect(failure.status == 4)
    }

    /// The statuses documented in --help are distinct.
    @Test func exitStatusesAreDistinct() {
        let statuses = [LoginFailure.refused("x"), .accessDenied, .expiredToken, .network("x"), .wrongIssuer("x"),
                        .localFile("x"), .refreshRefused].map(\.status)
        #expect(Set(statuses).count == statuses.count)
        #expect(!statuses.contains(0) && !statuses.contains(64))
        for status in statuses { #expect(LoginFailure.statusTable.contains("\n  \(status)  ")) }
    }
}
