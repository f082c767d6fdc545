#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import Testing


/// Breaks the exclusion promise the way a careless backend would: it reads the flow, lets go
/// of the lock, runs the closure and writes back (dex's read, decide, write in two calls). To
/// make the race certain rather than likely, every caller waits after its read until
/// `parties` callers have read.
final class UnlockedReadModifyWriteStore: ForwardingFlowStore, @unchecked Sendable {
    private let parties: Int
    private let lock = StateLock()
    private var arrived = 0

    init(parties: Int) {
        self.parties = parties
        super.init()
    }

    private func waitForTheOthers() {
        lock.withLock { arrived += 1 }
        for _ in 0..<2000 where lock.withLock({ arrived < parties }) { usleep(1000) }
    }

    override func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        let (record, poll) = try inner.updateFlow(id: id) { r, p in FlowUpdate(result: (r, p)) }
        waitForTheOthers()
        let update = try body(record, poll)
        try inner.updateFlow(id: id) { _, _ in FlowUpdate(record: update.record, poll: update.poll, result: ()) }
        return update.result
    }
}

/// Breaks "live codes are never shared": it indexes user codes by overwriting, as a plain
/// key-value put would, so every new flow takes the code from the live one that held it.
final class OverwritingCodeIndexStore: ForwardingFlowStore, @unchecked Sendable {
    private let lock = StateLock()
    private var index: [String: String] = [:]

    override func createFlow(_ record: DeviceFlowRecord) throws {
        var unclaimed = record
        unclaimed.userCodeKey = randomHex()
        try inner.createFlow(unclaimed)
        lock.withLock { index[record.userCodeKey] = record.id }
    }

    override func flowID(forUserCodeKey key: String) throws -> String? { lock.withLock { index[key] } }
}

/// Breaks "answers only for pending flows": it remembers flows as pending when created and
/// never forgets, as a cache without invalidation would.
final class NeverForgettingPendingStore: ForwardingFlowStore, @unchecked Sendable {
    private let lock = StateLock()
    private var polls: [String: Int] = [:]

    override func createFlow(_ record: DeviceFlowRecord) throws {
        try inner.createFlow(record)
        lock.withLock { polls[record.id] = 0 }
    }

    override func pollPendingFlow(id: String, clientID: String, now: UnixTime) throws -> OAuthError? {
        guard clientID != "someone-else", now < start.adding(seconds: 600) else { return nil }
        return lock.withLock { () -> OAuthError? in
            guard let n = polls[id] else { return nil }
            polls[id] = n + 1
            return n == 0 ? .authorizationPending : .slowDown
        }
    }
}

/// The suite catches what it claims to: its redemption check, run against a backend that
/// redeems twice, reports the violation.
@Suite struct BrokenBackendTests {
    @Test func theRedemptionCheckCatchesABackendThatRedeemsMoreThanOnce() throws {
        let violation = try Promise.exactlyOnceRedemption(UnlockedReadModifyWriteStore(parties: 8), callers: 8)
        #expect(violation == "redeemed 8 times by 8 concurrent callers")
    }

    @Test func theSameCheckPassesTheMemoryStoreThatWraps() throws {
        #expect(try Promise.exactlyOnceRedemption(MemoryFlowStore(), callers: 8) == nil)
        #expect(try Promise.exactlyOnceRedemption(ForwardingFlowStore(), callers: 8) == nil)
    }

    @Test func thePendingCheckCatchesABackendThatAnswersForAnApprovedFlow() throws {
        let broken = NeverForgettingPendingStore()
        #expect(try Promise.pendingAnswersOnlyForPendingFlows(broken, reopen: { broken }) == "answered for a flow created approved")
        let sound = ForwardingFlowStore()
        #expect(try Promise.pendingAnswersOnlyForPendingFlows(sound, reopen: { sound }) == nil)
    }

    @Test func theUserCodeCheckCatchesABackendThatSharesALiveCode() throws {
        #expect(try Promise.liveCodeNeverShared(OverwritingCodeIndexStore(), callers: 8) == "8 live flows hold one user code")
        #expect(try Promise.liveCodeNeverShared(ForwardingFlowStore(), callers: 8) == nil)
    }
}
