import DeviceFlow
import DeviceGateTesting
import Testing

/// Where a grant stands (`GrantState`), as `grants list` and "Your devices" tell it: its own
/// revocation, its subject's revocation marker (RFC 6749 §6 families covered by
/// `FlowStorage.revokeSubject`), and expiry, with a manual clock.
struct GrantStateTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Seconds after the clock's start.
        var createdAt: Int64 = 0
        var expiresAt: Int64 = 3_600
        var revokedAt: Int64?
        var subjectRevokedAt: Int64?
        /// Milliseconds after the clock's start.
        var now: Int64 = 60_000
        var expected: String
        var expectedRevokedAt: Int64?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a fresh grant is live", expected: "live"),
        Case(name: "its own revocation", revokedAt: 30, expected: "revoked", expectedRevokedAt: 30),
        Case(name: "the subject revoked after it was made", subjectRevokedAt: 30, expected: "revoked", expectedRevokedAt: 30),
        Case(name: "the subject revoked at the instant it was made", createdAt: 30, subjectRevokedAt: 30, expected: "revoked", expectedRevokedAt: 30),
        Case(name: "the subject revoked before it was made", createdAt: 30, subjectRevokedAt: 29, expected: "live"),
        Case(name: "its own revocation is the time shown, not the marker's", revokedAt: 20, subjectRevokedAt: 40, expected: "revoked", expectedRevokedAt: 20),
        Case(name: "at the end of its lifetime", now: 3_600_000, expected: "expired"),
        Case(name: "one millisecond short of its lifetime is live", now: 3_599_999, expected: "live"),
        Case(name: "revocation wins over expiry", revokedAt: 100, now: 7_200_000, expected: "revoked", expectedRevokedAt: 100),
        Case(name: "a marker wins over expiry", subjectRevokedAt: 100, now: 7_200_000, expected: "revoked", expectedRevokedAt: 100),
    ]

    @Test(arguments: cases)
    func state(_ c: Case) {
        let clock = ManualClock()
        let start = clock.now()
        let at = { (seconds: Int64) in start.adding(seconds: seconds) }
        var family = RefreshFamily(id: String(repeating: "a", count: 64), clientID: "demo-tv", subject: "alice", scope: ScopeSet(["openid"]),
                                   authTime: at(c.createdAt), createdAt: at(c.createdAt), expiresAt: at(c.expiresAt), currentTokenHash: "h")
        family.revokedAt = c.revokedAt.map(at)
        let state = GrantState(of: family, at: start.adding(milliseconds: c.now), subjectRevokedAt: c.subjectRevokedAt.map(at))
        #expect(state.name == c.expected)
        #expect(state.revokedAt == c.expectedRevokedAt.map(at))
    }
}
