#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing
import TokenSigning

/// `PostgresKeyStore` with each store on a connection of its own, as hosts have.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresKeysTests {
    static let start = UnixTime(seconds: 1_800_000_000)

    static func key(_ kid: String, at time: UnixTime = start) -> StoredKey {
        StoredKey(kid: kid, alg: "ES256", createdAt: time, pem: "-----BEGIN PRIVATE KEY-----\n\(kid)\n-----END PRIVATE KEY-----\n")
    }

    /// `count` stores on their own connections, each already connected (so a race starts at once).
    static func hosts(_ pg: TestPostgres, _ count: Int) -> [PostgresKeyStore] {
        (0..<count).map { _ in
            let store = PostgresKeyStore(connection: pg.connection())
            _ = store.indexVersion()
            return store
        }
    }

    @Test func theLocationNeverShowsTheURL() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = PostgresKeyStore(connection: pg.connection())
        #expect(store.location == "PostgreSQL")
    }

    /// Of 8 hosts starting at once with no key, exactly one creates the first key.
    @Test func onlyIfNoneRaceCreatesExactlyOneKey() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = Self.hosts(pg, 8)
        #expect(hosts[0].indexVersion() == nil)
        #expect(try hosts[0].load().isEmpty)
        let won = Tally(), failed = Tally()
        onThreads(hosts.count) { i in
            do {
                if try hosts[i].activate(Self.key("first-\(i)"), now: Self.start, forgetRetiredBefore: nil, onlyIfNone: true) { won.add(i) }
            } catch { failed.add(i) }
        }
        #expect(failed.all.isEmpty)
        #expect(won.all.count == 1, "exactly one host creates the first key")
        let winner = try #require(won.all.first)
        for h in hosts {
            #expect(try h.load() == [Self.key("first-\(winner)")])
        }
    }

    /// 8 hosts rotating at once: every new key is kept, each rotation retires the one before
    /// it, and exactly one key is active.
    @Test func concurrentRotationsNeverLoseAKey() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = Self.hosts(pg, 8)
        #expect(try hosts[0].activate(Self.key("first"), now: Self.start, forgetRetiredBefore: nil))
        let failed = Tally()
        onThreads(hosts.count) { i in
            let at = Self.start.adding(seconds: Int64(10 + i))
            do { _ = try hosts[i].activate(Self.key("rotated-\(i)", at: at), now: at, forgetRetiredBefore: nil) } catch { failed.add(i) }
        }
        #expect(failed.all.isEmpty)
        let keys = try hosts[0].load()
        #expect(keys.count == 9)
        #expect(Set(keys.map(\.kid)) == Set(["first"] + (0..<8).map { "rotated-\($0)" }))
        #expect(keys.first?.kid == "first", "oldest first")
        #expect(keys.filter { $0.retiredAt == nil }.count == 1)
        #expect(keys.last?.retiredAt == nil, "the last activated is the active one")
        #expect(keys.dropLast().allSatisfy { $0.retiredAt != nil })
        #expect(try hosts[7].load() == keys)
    }

    /// Two rotations at the same instant, each also forgetting retired keys: both new keys
    /// survive (the one retired by the other is not yet past the cutoff).
    @Test func twoRotationsAtOnceKeepBothKeys() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = Self.hosts(pg, 2)
        #expect(try hosts[0].activate(Self.key("old"), now: Self.start, forgetRetiredBefore: nil))
        let later = Self.start.adding(seconds: 100)
        #expect(try hosts[1].activate(Self.key("mid", at: later), now: later, forgetRetiredBefore: nil))
        let now = Self.start.adding(seconds: 200)
        onThreads(2) { i in
            _ = try? hosts[i].activate(Self.key("new-\(i)", at: now), now: now, forgetRetiredBefore: Self.start.adding(seconds: 150))
        }
        let kids = try hosts[0].load().map(\.kid)
        #expect(Set(kids) == ["mid", "new-0", "new-1"], "both new keys kept; only the one retired before the cutoff forgotten")
        #expect(try hosts[0].load().filter { $0.retiredAt == nil }.count == 1)
    }

    /// `indexVersion` changes on every change, reads the same on every host, and is what a
    /// worker polls: a rotation on one host is seen by another on its next read.
    @Test func indexVersionChangesOnEveryChangeAndIsEqualAcrossHosts() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = Self.hosts(pg, 3)
        #expect(hosts.allSatisfy { $0.indexVersion() == nil })
        var seen: [Int64] = []
        for step in 0..<5 {
            let at = Self.start.adding(seconds: Int64(step * 10))
            let rotating = hosts[step % hosts.count]
            #expect(try rotating.activate(Self.key("k\(step)", at: at), now: at, forgetRetiredBefore: at.adding(seconds: -15)))
            let versions = hosts.map { $0.indexVersion() }
            let v = try #require(versions[0])
            #expect(versions.allSatisfy { $0 == v }, "\(versions)")
            #expect(!seen.contains(v))
            seen.append(v)
        }
        // A refused onlyIfNone changes nothing, and so neither does the version.
        #expect(try hosts[1].activate(Self.key("late"), now: Self.start, forgetRetiredBefore: nil, onlyIfNone: true) == false)
        #expect(hosts[2].indexVersion() == seen.last)
        #expect(try hosts[0].load().map(\.kid) == ["k2", "k3", "k4"])
    }

    @Test func loadReturnsWhatWasStored() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = Self.hosts(pg, 2)
        let first = StoredKey(kid: "rsa-1", alg: "RS256", createdAt: UnixTime(milliseconds: 1_800_000_000_123), pem: "line 1\nline 2 'quoted' \\ é\n")
        #expect(try hosts[0].activate(first, now: first.createdAt, forgetRetiredBefore: nil))
        let second = Self.key("ec-2", at: UnixTime(milliseconds: 1_800_000_100_456))
        #expect(try hosts[0].activate(second, now: second.createdAt, forgetRetiredBefore: nil))
        var retired = first
        retired.retiredAt = second.createdAt
        #expect(try hosts[1].load() == [retired, second])
    }

    /// A reused kid is refused as a storage error; the key set stays as it was.
    @Test func aDuplicateKidIsRefusedAndChangesNothing() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = PostgresKeyStore(connection: pg.connection())
        #expect(try store.activate(Self.key("same"), now: Self.start, forgetRetiredBefore: nil))
        let version = store.indexVersion()
        #expect(throws: FlowStorageError.self) { try store.activate(Self.key("same"), now: Self.start.adding(seconds: 1), forgetRetiredBefore: nil) }
        #expect(try store.load() == [Self.key("same")])
        #expect(store.indexVersion() == version)
    }

    /// What the version is for: two hosts' key rings, each on its own connection. Both start
    /// at once and end up with one shared key; a rotation on one host signs on the other at
    /// its next check, a second later, while the retired key still verifies there.
    @Test func aKeyRotatedOnOneHostSignsOnTheOtherWithinASecond() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let stores = Self.hosts(pg, 2)
        let rings = stores.map { KeyRing(files: $0, maximumTokenLifetime: 3600) }
        onThreads(2) { i in try? KeyRing.ensureKey(files: stores[i], algorithm: .es256, now: Self.start) }
        let first = try rings[0].activeKey(now: Self.start).kid
        #expect(try rings[1].activeKey(now: Self.start).kid == first)
        #expect(try stores[1].load().count == 1)

        let rotatedAt = Self.start.adding(milliseconds: 300)
        let rotated = try KeyRing.rotate(files: stores[0], algorithm: .es256, now: rotatedAt, maximumTokenLifetime: 3600)
        #expect(try rings[1].activeKey(now: Self.start.adding(milliseconds: 999)).kid == first, "checked at most once a second")
        #expect(try rings[1].activeKey(now: Self.start.adding(milliseconds: 1000)).kid == rotated.kid)
        #expect(rings[1].verificationKey(kid: first, now: rotatedAt.adding(seconds: 60)) != nil, "the retired key still verifies")
        #expect(rings[1].publishedKeys(now: rotatedAt).map(\.kid) == [rotated.kid, first])
    }

    /// While the database cannot be read, `indexVersion` keeps the last version seen, so a
    /// worker keeps signing with the keys it loaded instead of reloading into the failure.
    @Test func indexVersionKeepsTheLastVersionWhileTheDatabaseIsUnreachable() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = PostgresKeyStore(connection: pg.connection())
        #expect(try store.activate(Self.key("a"), now: Self.start, forgetRetiredBefore: nil))
        let v = try #require(store.indexVersion())
        pg.remove()
        #expect(store.indexVersion() == v)
        #expect(throws: FlowStorageError.self) { try store.load() }
    }
}
