#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// `PostgresAdmissionCounters` with each store on a connection of its own, as hosts have.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresAdmissionTests {
    static let start = UnixTime(seconds: 1_800_000_000)
    static let policy = FlowAdmissionPolicy(maxPendingPerClient: 1_000, maxPendingPerAddress: 20, maxPendingPerNetwork: 0)

    static func hosts(_ pg: TestPostgres, _ count: Int) throws -> [PostgresAdmissionCounters] {
        try (0..<count).map { _ in
            let store = PostgresAdmissionCounters(connection: pg.connection())
            _ = try store.live("warm-up", now: start)
            return store
        }
    }

    /// A cap of N, 8 hosts racing 4N admissions under two keys: exactly N admitted, each
    /// counted under both keys, every refusal naming the cap.
    @Test func aCapIsReachedExactlyByEightRacingConnections() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let n = Int(Self.policy.maxPendingPerAddress)
        let hosts = try Self.hosts(pg, 8)
        let keys = Self.policy.keys(clientID: "tv", addressKey: "203.0.113.9")
        #expect(keys.count == 2)
        let admitted = Tally(), refused = Tally(), failed = Tally()
        onThreads(hosts.count) { i in
            for _ in 0..<(4 * n / hosts.count) {
                do {
                    if let refusal = try hosts[i].admit(keys, expiresAt: Self.start.adding(seconds: 600), lifetimeSeconds: 600, now: Self.start) {
                        if refusal.reason == .cap(.address, limit: Int64(n)) { refused.add(i) } else { failed.add(i) }
                    } else {
                        admitted.add(i)
                    }
                } catch { failed.add(i) }
            }
        }
        #expect(failed.all.isEmpty)
        #expect(admitted.all.count == n)
        #expect(refused.all.count == 3 * n)
        let other = try Self.hosts(pg, 1)[0]
        #expect(try other.live("address:203.0.113.9", now: Self.start) == Int64(n))
        #expect(try other.live("client:tv", now: Self.start) == Int64(n))
    }

    /// The same decisions, refusals and retry times as the in-memory backend (itself the file
    /// store's decision) over a sequence that crosses bucket ends and a change of lifetime.
    @Test func decidesAsTheOtherBackendsDo() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = try Self.hosts(pg, 2)
        let memory = MemoryAdmissionCounters()
        let policy = FlowAdmissionPolicy(maxPendingPerClient: 7, maxPendingPerAddress: 3, maxPendingPerNetwork: 5)
        var decisions = 0
        for step in 0..<120 {
            let now = Self.start.adding(seconds: Int64(step * 7))
            let lifetime = step < 60 ? 60 : 140
            let keys = policy.keys(clientID: "tv", addressKey: "a\(step % 3)", networkKey: "n\(step % 2)")
            let expected = try memory.admit(keys, expiresAt: now.adding(seconds: Int64(lifetime)), lifetimeSeconds: lifetime, now: now)
            let got = try hosts[step % 2].admit(keys, expiresAt: now.adding(seconds: Int64(lifetime)), lifetimeSeconds: lifetime, now: now)
            #expect(got == expected, "step \(step)")
            if expected != nil { decisions += 1 }
            for name in ["client:tv", "address:a\(step % 3)", "network:n\(step % 2)"] {
                #expect(try hosts[0].live(name, now: now) == memory.live(name, now: now), "step \(step) \(name)")
            }
        }
        #expect(decisions > 10 && decisions < 110, "the sequence exercises both answers (\(decisions) refusals)")
    }

    /// Garbage collection removes the rows whose buckets have all ended and no other; a key
    /// collected counts from zero again.
    @Test func collectExpiredRemovesOnlyEndedRows() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = try Self.hosts(pg, 2)
        let short = [AdmissionKey(name: "address:short", limit: 1, kind: .address)]
        let long = [AdmissionKey(name: "address:long", limit: 1, kind: .address)]
        #expect(try hosts[0].admit(short, expiresAt: Self.start.adding(seconds: 60), lifetimeSeconds: 60, now: Self.start) == nil)
        #expect(try hosts[0].admit(long, expiresAt: Self.start.adding(seconds: 600), lifetimeSeconds: 600, now: Self.start) == nil)
        // The short flow's bucket ends at most one width after its expiry.
        let width = ExpiryBuckets.width(lifetime: 60)
        let ended = Self.start.adding(seconds: 60 + width)
        #expect(try hosts[1].live("address:short", now: ended) == 0)
        #expect(try hosts[1].live("address:long", now: ended) == 1)
        #expect(hosts[1].collectExpired(now: ended) == 1)
        #expect(hosts[1].collectExpired(now: ended) == 0)
        #expect(try hosts[0].admit(long, expiresAt: ended.adding(seconds: 600), lifetimeSeconds: 600, now: ended) != nil, "the live row was kept")
        #expect(try hosts[0].admit(short, expiresAt: ended.adding(seconds: 60), lifetimeSeconds: 60, now: ended) == nil)
        #expect(try hosts[0].live("address:short", now: ended) == 1)
    }

    /// Collection racing admissions never loses a count: every admitted flow is still live.
    @Test func collectionDuringAdmissionsLosesNoCount() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = try Self.hosts(pg, 5)
        let keys = [AdmissionKey(name: "client:tv", limit: 10_000, kind: .client)]
        // An ended row of the same key, for the collector to find.
        #expect(try hosts[0].admit(keys, expiresAt: Self.start.adding(seconds: -3600), lifetimeSeconds: 60, now: Self.start.adding(seconds: -3660)) == nil)
        let admitted = Tally(), failed = Tally(), collected = Tally()
        onThreads(hosts.count) { i in
            for _ in 0..<40 {
                if i == 0 {
                    collected.add(hosts[0].collectExpired(now: Self.start))
                } else {
                    do {
                        if try hosts[i].admit(keys, expiresAt: Self.start.adding(seconds: 600), lifetimeSeconds: 600, now: Self.start) == nil { admitted.add(i) }
                    } catch { failed.add(i) }
                }
            }
        }
        #expect(failed.all.isEmpty)
        #expect(admitted.all.count == 160)
        #expect(try hosts[0].live("client:tv", now: Self.start) == 160)
    }

    /// Key names hold client addresses: only their SHA-256 is stored.
    @Test func keyNamesAreStoredHashed() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.hosts(pg, 1)[0]
        _ = try store.admit([AdmissionKey(name: "address:198.51.100.7", limit: 5, kind: .address)], expiresAt: Self.start.adding(seconds: 60),
                            lifetimeSeconds: 60, now: Self.start)
        let rows = try pg.connection().execute(PostgresStatement("dump", "SELECT key_hash FROM admission_counters"))
        #expect(rows.map { $0[0] } == [Encoding.sha256Hex("address:198.51.100.7")])
    }

    @Test func anUnreachableDatabaseIsAStorageError() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.hosts(pg, 1)[0]
        pg.remove()
        #expect(throws: FlowStorageError.self) {
            try store.admit(Self.policy.keys(clientID: "tv", addressKey: "a"), expiresAt: Self.start.adding(seconds: 60), lifetimeSeconds: 60, now: Self.start)
        }
        #expect(store.collectExpired(now: Self.start) == 0)
    }
}
