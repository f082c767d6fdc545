#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import Testing

/// Authorization codes kept the way a careless backend would keep them, one flaw at a time
/// (`.none` keeps every promise, so each check is shown to fail for the flaw alone).
final class BrokenCodeStore: ForwardingFlowStore, ExpiredStateCollecting, @unchecked Sendable {
    enum Flaw {
        case none
        /// Writes every field but the nonce (a column forgotten in an INSERT).
        case dropsTheNonce
        /// Runs the closure under the lock but never writes what it returns.
        case dropsUpdates
        /// Reads, lets go of the lock, runs the closure and writes back; every caller waits
        /// after its read until `parties` have read, so the race is certain.
        case readsAndWritesUnlocked(parties: Int)
        /// Collects codes when they expire instead of at `collectableAt`: a replay the next
        /// minute is an unknown code, and what the code produced stays live.
        case collectsAtExpiry
        /// Makes a placeholder for an unknown id so that it has something to lock (an
        /// upsert before `SELECT … FOR UPDATE`): one row or file per guessed code.
        case createsOnLookup
    }

    private let flaw: Flaw
    private let lock = StateLock()
    private var codes: [String: AuthorizationCodeRecord] = [:]
    private var arrived = 0

    init(_ flaw: Flaw) {
        self.flaw = flaw
        super.init()
    }

    override func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws {
        var kept = record
        if case .dropsTheNonce = flaw { kept.nonce = nil }
        lock.withLock { codes[record.id] = kept }
    }

    override func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        switch flaw {
        case .readsAndWritesUnlocked(let parties):
            let record = lock.withLock { codes[id] }
            lock.withLock { arrived += 1 }
            for _ in 0..<2000 where lock.withLock({ arrived < parties }) { usleep(1000) }
            let (updated, result) = try body(record)
            if let updated { lock.withLock { codes[id] = updated } }
            return result
        case .dropsUpdates:
            return try lock.withLock { try body(codes[id]).result }
        case .createsOnLookup:
            return try lock.withLock {
                let record = codes[id]
                if record == nil {
                    codes[id] = AuthorizationCodeRecord(id: id, clientID: "", subject: "", scope: ScopeSet([]), authTime: start, createdAt: start,
                                                        expiresAt: start, redirectURI: "", codeChallenge: nil, nonce: nil)
                }
                return try body(record).result
            }
        case .none, .dropsTheNonce, .collectsAtExpiry:
            return try lock.withLock {
                let (updated, result) = try body(codes[id])
                if let updated, codes[id] != nil { codes[id] = updated }
                return result
            }
        }
    }

    func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int {
        lock.withLock {
            let before = codes.count
            if case .collectsAtExpiry = flaw {
                codes = codes.filter { $0.value.expiresAt >= now }
            } else {
                codes = codes.filter { $0.value.collectableAt >= now }
            }
            return before - codes.count
        }
    }
}

/// Each authorization-code check of the conformance suite catches the flaw it names, and
/// passes the same store without it.
@Suite struct BrokenCodeBackendTests {
    @Test func theRoundTripCheckCatchesAStoreThatDropsAField() throws {
        let store = BrokenCodeStore(.dropsTheNonce)
        let violation = try #require(try Promise.codeRoundTrip(store, reopen: { store }))
        #expect(violation.hasPrefix("the writer read ") && violation.contains("nonce: nil"), "\(violation)")
        let sound = BrokenCodeStore(.none)
        #expect(try Promise.codeRoundTrip(sound, reopen: { sound }) == nil)
    }

    @Test func theRoundTripCheckCatchesAStoreThatKeepsCodesInTheWritersMemory() throws {
        let violation = try #require(try Promise.codeRoundTrip(BrokenCodeStore(.none), reopen: { BrokenCodeStore(.none) }))
        #expect(violation.hasPrefix("another worker read nothing"), "\(violation)")
    }

    @Test func theUpdateCheckCatchesAStoreThatDropsUpdates() throws {
        let store = BrokenCodeStore(.dropsUpdates)
        #expect(try Promise.codeUpdateSeenByNextUpdate(store, reopen: { store })?.hasPrefix("the next update read AuthorizationCodeRecord") == true)
        let sound = BrokenCodeStore(.none)
        #expect(try Promise.codeUpdateSeenByNextUpdate(sound, reopen: { sound }) == nil)
    }

    @Test func theRaceCheckCatchesAStoreWhoseUpdateDoesNotHoldTheLock() throws {
        #expect(try Promise.exactlyOnceCodeRedemption(BrokenCodeStore(.readsAndWritesUnlocked(parties: 8)), callers: 8)
                == "redeemed 8 times by 8 concurrent callers")
        #expect(try Promise.exactlyOnceCodeRedemption(BrokenCodeStore(.none), callers: 8) == nil)
    }

    @Test func theCollectionCheckCatchesAStoreThatCollectsAtExpiry() throws {
        #expect(try Promise.codeKeptUntilCollectable(BrokenCodeStore(.collectsAtExpiry)) == "collected at 1000 ms after expiry, before collectableAt")
        #expect(try Promise.codeKeptUntilCollectable(BrokenCodeStore(.none)) == nil)
    }

    @Test func theUnknownCodeCheckCatchesAStoreThatCreatesWhatItLooksUp() throws {
        #expect(try Promise.unknownCodeIsNil(BrokenCodeStore(.createsOnLookup)) == "looking at an unknown id left a record")
        #expect(try Promise.unknownCodeIsNil(BrokenCodeStore(.none)) == nil)
    }
}
