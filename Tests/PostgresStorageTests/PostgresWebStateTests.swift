#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// `PostgresWebStateStore` with each store on a connection of its own, as hosts have.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresWebStateTests {
    static let start = UnixTime(seconds: 1_800_000_000)

    /// A host's web store: its own connection, subject revocations from `revoked`.
    static func host(_ pg: TestPostgres, revoked: [String: UnixTime] = [:],
                     slots: @escaping (String, Int) throws -> (any SlotClaim)? = { _, _ in nil }) throws -> PostgresWebStateStore {
        try PostgresWebStateStore(connection: pg.connection(), revokedAt: { revoked[$0] }, slots: slots)
    }

    static func idHash() -> String { Encoding.sha256Hex(Encoding.hex(SystemSecureRandom().bytes(32))) }

    @Test func theSecretKeyIsSharedByEveryHost() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg), b = try Self.host(pg)
        #expect(a.secretKey.count == 32 && a.secretKey == b.secretKey)
        #expect(a.secretKey != [UInt8](repeating: 0, count: 32))
    }

    @Test func sessionsAreSeenByEveryHostAndDeletedForAll() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg), b = try Self.host(pg)
        let id = Self.idHash()
        let session = WebSession(subject: "alice", authTime: Self.start, expiresAt: Self.start.adding(seconds: 3600))
        try a.saveSession(idHash: id, session)
        #expect(try b.session(idHash: id) == session)
        #expect(try b.session(idHash: Self.idHash()) == nil)
        #expect(try b.session(idHash: "not a hash") == nil)
        try b.deleteSession(idHash: id)
        #expect(try a.session(idHash: id) == nil)
    }

    /// The session id itself never reaches the database: only the hash the caller made.
    @Test func onlyTheHashOfASessionIDIsStored() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg)
        let id = Encoding.hex(SystemSecureRandom().bytes(32))
        try a.saveSession(idHash: Encoding.sha256Hex(id), WebSession(subject: "alice", authTime: Self.start, expiresAt: Self.start.adding(seconds: 60)))
        let rows = try pg.connection().execute(PostgresStatement("dump", "SELECT id_hash || subject FROM web_sessions"))
        #expect(rows.count == 1)
        #expect(!(try rows[0].string(0)).contains(id))
    }

    @Test func expiredSessionsAreCollectedForEveryHostAndLiveOnesKept() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg), b = try Self.host(pg)
        let now = Self.start.adding(seconds: 600)
        let ended = Self.idHash(), live = Self.idHash()
        try a.saveSession(idHash: ended, WebSession(subject: "bob", authTime: Self.start, expiresAt: now))
        try a.saveSession(idHash: live, WebSession(subject: "bob", authTime: Self.start, expiresAt: now.adding(milliseconds: 1)))
        let removed = b.collectExpiredWebState(now: now)
        #expect(removed.sessions == 1 && removed.counters == 0)
        #expect(try a.session(idHash: ended) == nil)
        #expect(try a.session(idHash: live)?.expiresAt == now.adding(milliseconds: 1))
    }

    /// A backlog larger than one batch is removed by one call (batches of 10,000 until one is
    /// short), and a live session among it is kept.
    @Test func aBacklogOfExpiredStateIsCollectedInBatches() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.host(pg)
        let now = Self.start.adding(seconds: 600)
        try pg.connection().executeScript("""
            INSERT INTO web_sessions SELECT md5(n::text) || md5((n + 1)::text), 'bob', 0, \(now.milliseconds - 1) FROM generate_series(1, 25000) AS n;
            INSERT INTO web_counters SELECT md5(n::text), \(now.milliseconds), 3 FROM generate_series(1, 12000) AS n;
            """)
        let live = Self.idHash()
        try store.saveSession(idHash: live, WebSession(subject: "alice", authTime: Self.start, expiresAt: now.adding(seconds: 1)))
        let removed = store.collectExpiredWebState(now: now)
        #expect(removed.sessions == 25_000 && removed.counters == 12_000)
        #expect(try store.session(idHash: live)?.subject == "alice")
        let again = store.collectExpiredWebState(now: now)
        #expect(again.sessions == 0 && again.counters == 0)
    }

    /// "A session of a subject revoked after it was signed in is not returned": a sign-in at
    /// or before the revocation ends (and its row goes), a later one is kept.
    @Test func aSessionOfASubjectRevokedAfterSignInIsNotReturned() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let revokedAt = Self.start.adding(seconds: 100)
        let writer = try Self.host(pg)
        let reader = try Self.host(pg, revoked: ["mallory": revokedAt])
        let before = Self.idHash(), atRevocation = Self.idHash(), after = Self.idHash(), other = Self.idHash()
        let expires = Self.start.adding(seconds: 3600)
        try writer.saveSession(idHash: before, WebSession(subject: "mallory", authTime: Self.start, expiresAt: expires))
        try writer.saveSession(idHash: atRevocation, WebSession(subject: "mallory", authTime: revokedAt, expiresAt: expires))
        try writer.saveSession(idHash: after, WebSession(subject: "mallory", authTime: revokedAt.adding(milliseconds: 1), expiresAt: expires))
        try writer.saveSession(idHash: other, WebSession(subject: "alice", authTime: Self.start, expiresAt: expires))
        #expect(try reader.session(idHash: before) == nil)
        #expect(try reader.session(idHash: atRevocation) == nil)
        #expect(try reader.session(idHash: after)?.subject == "mallory")
        #expect(try reader.session(idHash: other)?.subject == "alice")
        // Ended for everyone: the writer, which knows of no revocation, finds them gone too.
        #expect(try writer.session(idHash: before) == nil)
        #expect(try writer.session(idHash: atRevocation) == nil)
    }

    /// A revocation check that fails fails the read (503), never a session let through.
    @Test func aRevocationCheckThatFailsIsAnError() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresWebStateStore(connection: pg.connection(), revokedAt: { _ in throw FlowStorageError(.io, "flows unavailable") },
                                              slots: { _, _ in nil })
        let id = Self.idHash()
        try store.saveSession(idHash: id, WebSession(subject: "alice", authTime: Self.start, expiresAt: Self.start.adding(seconds: 60)))
        #expect(throws: FlowStorageError.self) { try store.session(idHash: id) }
    }

    /// 8 hosts × 50 increments of one key at once: every increment counted once, each caller
    /// seeing a count no other saw.
    @Test func countersAreExactAcrossEightConnections() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let threads = 8, each = 50
        let hosts = try (0..<threads).map { _ in try Self.host(pg) }
        for h in hosts { _ = try h.count(key: "warm-up", windowSeconds: 60, now: Self.start) }
        let seen = Tally(), failures = Tally()
        onThreads(threads) { i in
            for _ in 0..<each {
                do { seen.add(try hosts[i].increment(key: "sign-in-user:alice", windowSeconds: 3600, now: Self.start).count) } catch { failures.add(i) }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(seen.all.sorted() == Array(1...(threads * each)))
        let other = try Self.host(pg)
        let window = WindowCount.windowEnd(now: Self.start, seconds: 3600)
        #expect(try other.count(key: "sign-in-user:alice", windowSeconds: 3600, now: Self.start) == WindowCount(count: threads * each, windowEnd: window))
        #expect(try other.count(key: "sign-in-user:bob", windowSeconds: 3600, now: Self.start).count == 0)
    }

    @Test func decrementTakesBackOnlyInItsOwnWindow() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg), b = try Self.host(pg)
        let window = WindowCount.windowEnd(now: Self.start, seconds: 60)
        for _ in 0..<3 { _ = try a.increment(key: "k", windowSeconds: 60, now: Self.start) }
        try b.decrement(key: "k", windowEnd: window)
        #expect(try a.count(key: "k", windowSeconds: 60, now: Self.start).count == 2)
        try b.decrement(key: "k", windowEnd: window.adding(seconds: -60))
        #expect(try a.count(key: "k", windowSeconds: 60, now: Self.start).count == 2)
        // The next window starts at zero, and a late decrement of the old one does not reach it.
        let next = try a.increment(key: "k", windowSeconds: 60, now: window)
        #expect(next == WindowCount(count: 1, windowEnd: window.adding(seconds: 60)))
        try b.decrement(key: "k", windowEnd: window)
        #expect(try a.count(key: "k", windowSeconds: 60, now: window).count == 1)
        // Never below zero.
        for _ in 0..<3 { try b.decrement(key: "k", windowEnd: next.windowEnd) }
        #expect(try a.count(key: "k", windowSeconds: 60, now: window).count == 0)
        #expect(try a.increment(key: "k", windowSeconds: 60, now: window).count == 1)
    }

    /// Counter keys hold usernames and addresses: only their SHA-256 is stored.
    @Test func counterKeysAreStoredHashed() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        _ = try Self.host(pg).increment(key: "sign-in-user:alice", windowSeconds: 60, now: Self.start)
        let rows = try pg.connection().execute(PostgresStatement("dump", "SELECT key_hash FROM web_counters"))
        #expect(rows.map { $0[0] } == [Encoding.sha256Hex("sign-in-user:alice")])
    }

    @Test func endedCounterWindowsAreCollectedAndLiveOnesKept() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try Self.host(pg), b = try Self.host(pg)
        let now = Self.start.adding(seconds: 60)
        _ = try a.increment(key: "minute", windowSeconds: 60, now: Self.start)
        _ = try a.increment(key: "day", windowSeconds: 86_400, now: Self.start)
        let removed = b.collectExpiredWebState(now: now)
        #expect(removed.sessions == 0 && removed.counters == 1)
        #expect(try a.count(key: "day", windowSeconds: 86_400, now: now).count == 1)
        #expect(try a.increment(key: "minute", windowSeconds: 60, now: now).count == 1)
    }

    /// Password-hash slots limit this host's CPU: the store hands the claim to `slots`.
    @Test func slotsAreClaimedFromThisHost() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        final class Claim: SlotClaim { func release() {} }
        let asked = Tally()
        let store = try Self.host(pg, slots: { pool, count in asked.add(count); return pool == "hash" ? Claim() : nil })
        #expect(try store.claimSlot(pool: "hash", count: 3) != nil)
        #expect(try store.claimSlot(pool: "other", count: 2) == nil)
        #expect(asked.all == [3, 2])
    }

    /// A database that is down is `FlowStorageError(.io)` (503) for every call, never a crash
    /// or a `PostgresError`; garbage collection counts nothing.
    @Test func anUnreachableDatabaseIsAStorageError() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.host(pg)
        let id = Self.idHash()
        try store.saveSession(idHash: id, WebSession(subject: "alice", authTime: Self.start, expiresAt: Self.start.adding(seconds: 60)))
        pg.remove()
        func isIO(_ body: () throws -> Void) {
            do { try body(); Issue.record("succeeded without its tables") } catch let e as FlowStorageError { #expect(e.kind == .io) } catch { Issue.record("\(error)") }
        }
        isIO { _ = try store.session(idHash: id) }
        isIO { try store.saveSession(idHash: id, WebSession(subject: "a", authTime: Self.start, expiresAt: Self.start)) }
        isIO { _ = try store.increment(key: "k", windowSeconds: 60, now: Self.start) }
        isIO { _ = try store.count(key: "k", windowSeconds: 60, now: Self.start) }
        isIO { try store.decrement(key: "k", windowEnd: Self.start) }
        let collected = store.collectExpiredWebState(now: Self.start)
        #expect(collected.sessions == 0 && collected.counters == 0)
    }
}

/// Mean microseconds per call of `body` over `count` calls, after `count / 10` to warm up
/// (prepared statements, the connection). For the benchmark tests, which print and assert
/// nothing about time.
func microsecondsPerCall(_ count: Int, _ body: (Int) throws -> Void) rethrows -> Double {
    for i in 0..<max(1, count / 10) { try body(-1 - i) }
    var begin = timespec(), end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &begin)
    for i in 0..<count { try body(i) }
    clock_gettime(CLOCK_MONOTONIC, &end)
    let nanoseconds = Double(end.tv_sec - begin.tv_sec) * 1e9 + Double(end.tv_nsec - begin.tv_nsec)
    return nanoseconds / 1000 / Double(count)
}

/// What one worker's calls cost against the local cluster, printed (no timed assertion).
@Suite(.serialized, .enabled(if: TestPostgres.benchmarksEnabled, "a benchmark: DEVICEGATE_BENCHMARKS=1 and DEVICEGATE_TEST_POSTGRES_URL"))
struct PostgresWebStateBenchmarkTests {
    @Test func microsecondsPerIncrement() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let connection = pg.connection()
        let store = try PostgresWebStateStore(connection: connection, revokedAt: { _ in nil }, slots: { _, _ in nil })
        let now = UnixTime(seconds: 1_800_000_000)
        let before = connection.statementCount
        let us = try microsecondsPerCall(2_000) { i in _ = try store.increment(key: "sign-in-user:u\(i & 63)", windowSeconds: 3600, now: now) }
        print("benchmark: PostgresWebStateStore.increment \(String(us)) us/call, \(Double(connection.statementCount - before) / 2_200) statements/call")
        #expect(try store.count(key: "sign-in-user:u1", windowSeconds: 3600, now: now).count > 0)
    }

    @Test func microsecondsPerAdmitOfTwoKeys() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let connection = pg.connection()
        let store = PostgresAdmissionCounters(connection: connection)
        let now = UnixTime(seconds: 1_800_000_000)
        let policy = FlowAdmissionPolicy(maxPendingPerClient: 1_000_000, maxPendingPerAddress: 1_000_000, maxPendingPerNetwork: 0)
        let before = connection.statementCount
        let us = try microsecondsPerCall(2_000) { i in
            let refusal = try store.admit(policy.keys(clientID: "tv", addressKey: "198.51.100.\(i & 63)"), expiresAt: now.adding(seconds: 600),
                                          lifetimeSeconds: 600, now: now)
            precondition(refusal == nil)
        }
        print("benchmark: PostgresAdmissionCounters.admit (2 keys) \(String(us)) us/call, \(Double(connection.statementCount - before) / 2_200) statements/call")
        #expect(try store.live("client:tv", now: now) == 2_200)
    }

    @Test func microsecondsPerIndexVersion() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = PostgresKeyStore(connection: pg.connection())
        _ = try store.activate(StoredKey(kid: "k", alg: "ES256", createdAt: UnixTime(seconds: 1), pem: "pem"), now: UnixTime(seconds: 1), forgetRetiredBefore: nil)
        var last: Int64?
        let us = microsecondsPerCall(5_000) { _ in last = store.indexVersion() }
        print("benchmark: PostgresKeyStore.indexVersion \(String(us)) us/call")
        #expect(last != nil)
    }
}
