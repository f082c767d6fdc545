#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import DeviceFlow
import Synchronization
import DeviceGateTesting
@_spi(Testing) @testable import DirectoryStorage
@_spi(Testing) @testable import HostFiles
import Testing

/// The per-subject grant index of the state directory (`GrantIndex`): what the conformance
/// suite cannot see of it (crash leftovers, compaction, modes, the first build).
@Suite struct GrantIndexTests {
    static let start = UnixTime(seconds: 1_800_000_000)
    var start: UnixTime { Self.start }
    static func randomHex() -> String { Encoding.hex(SystemSecureRandom().bytes(32)) }
    static func family(subject: String = "alice", lifetime: Int64 = 86_400) -> RefreshFamily {
        RefreshFamily(id: randomHex(), clientID: "tv", subject: subject, scope: ScopeSet(["openid"]), authTime: start, createdAt: start,
                      expiresAt: start.adding(seconds: lifetime), currentTokenHash: randomHex())
    }

    func index(_ f: StoreFixture, _ subject: String = "alice") -> (dir: String, entries: String, lock: String) {
        GrantIndex(directory: f.store.directory).paths(subject: subject)
    }

    func entries(_ path: String) throws -> [String] {
        GrantIndex.entries(try Sys.readFile(path) ?? []).map(\.familyID)
    }

    func collect(_ f: StoreFixture, now: UnixTime) -> GarbageCollectionReport {
        f.store.collectGarbage(now: now, retentionSeconds: 0, shards: 0..<StateDirectory.shardCount)
    }

    /// The entry is written before the family: a family write that fails leaves an entry
    /// pointing at nothing, which reads as no grant and is dropped by the next collection.
    @Test func anEntryWhoseFamilyIsMissingIsSkippedThenCollected() throws {
        let f = try StoreFixture()
        let lost = Self.family()
        #expect(throws: FlowStorageError.self) {
            try SyscallFaults.with(EIO, on: "rename", pathContaining: "\(lost.id).family") { _ in try f.store.createRefreshFamily(lost) }
        }
        let paths = index(f)
        #expect(try entries(paths.entries) == [lost.id], "the entry was made durable first")
        #expect(try f.store.refreshFamilies(subject: "alice").isEmpty)
        let kept = Self.family()
        try f.store.createRefreshFamily(kept)
        #expect(try f.store.refreshFamilies(subject: "alice") == [kept])

        let report = collect(f, now: start.adding(seconds: 1))
        #expect(report.grantEntries == 1)
        #expect(try entries(paths.entries) == [kept.id])
        try Sys.unlink(f.store.familyPaths(kept.id).record)
        _ = collect(f, now: start.adding(seconds: 2))
        #expect(Sys.stat(paths.entries) == nil && Sys.stat(paths.lock) == nil, "an empty index and its lock are removed")
    }

    @Test func collectionDropsExpiredEntriesAndKeepsLiveOnes() throws {
        let f = try StoreFixture()
        let brief = Self.family(lifetime: 10), long = Self.family(), bobs = Self.family(subject: "bob", lifetime: 10)
        for family in [brief, long, bobs] { try f.store.createRefreshFamily(family) }
        #expect(collect(f, now: start.adding(seconds: 5)).grantEntries == 0, "nothing has expired yet")
        #expect(try entries(index(f).entries) == [brief.id, long.id])

        let report = collect(f, now: start.adding(seconds: 11))
        #expect(report.grantEntries == 2 && report.tokens >= 2)
        #expect(try entries(index(f).entries) == [long.id])
        #expect(Sys.stat(index(f, "bob").entries) == nil)
        #expect(try f.store.refreshFamilies(subject: "alice") == [long])
    }

    /// A crash in the middle of an append leaves part of a line: readers skip it, and the next
    /// append starts on a line of its own.
    @Test func aTornLineIsSkippedAndTheNextAppendStartsAfterIt() throws {
        let f = try StoreFixture()
        let first = Self.family(), second = Self.family()
        try f.store.createRefreshFamily(first)
        let paths = index(f)
        let fd = try Sys.open(paths.entries, O_WRONLY | O_APPEND)
        try Sys.closeAfter(fd) { try Sys.writeAll($0, paths.entries, Array(Self.randomHex().prefix(20).utf8)) }
        #expect(try f.store.refreshFamilies(subject: "alice") == [first])
        try f.store.createRefreshFamily(second)
        #expect(try f.store.refreshFamilies(subject: "alice") == [first, second])
        _ = collect(f, now: start.adding(seconds: 1))
        #expect(try Sys.readFile(paths.entries).map { String(decoding: $0, as: UTF8.self).split(separator: "\n").count } == 2,
                "compaction rewrote the file without the torn line")
    }

    @Test func indexFilesAre0600InA0700Shard() throws {
        let f = try StoreFixture()
        try f.store.createRefreshFamily(Self.family())
        let paths = index(f)
        for file in [paths.entries, paths.lock] { #expect(Sys.stat(file).map { $0.st_mode & 0o777 } == 0o600, "\(file)") }
        #expect(Sys.stat(paths.dir).map { $0.st_mode & 0o777 } == 0o700)
        #expect(Sys.stat(f.root + "/grants/ff") != nil, "every shard is made at start")
    }
}

/// Appends and compaction at once: five threads create two hundred families of one subject,
/// each through its own store (its own descriptors, so flock excludes them as it would
/// processes), while a sixth compacts that subject's shard over and over. Compaction may run
/// only between a family's append and its write if it ignores the lock; then it drops the
/// entry of a family about to exist, and the grant is lost to "Your devices".
@Suite struct GrantIndexRaceTests {
    @Test func compactionNeverDropsTheEntryOfAFamilyBeingCreated() throws {
        let f = try StoreFixture()
        let creators = 5, perCreator = 40
        let finished = Atomic<Int>(0)
        let root = f.root
        let shard = Int(StateDirectory.shard(of: Encoding.sha256Hex("subject alice")), radix: 16)!
        // The compactor collects at the real time: at the manual clock's start (2027) every temp
        // file in flight would already look ten minutes old and be swept from under its rename.
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = UnixTime(seconds: Int64(ts.tv_sec))
        precondition(now < GrantIndexTests.start, "the families stay live at the real time")
        DispatchQueue.concurrentPerform(iterations: creators + 1) { i in
            do {
                let store = try FileFlowStore(directory: StateDirectory(root: root))
                if i == creators {
                    while finished.load(ordering: .acquiring) < creators {
                        _ = store.collectGarbage(now: now, retentionSeconds: 0, shards: [shard])
                    }
                    return
                }
                for _ in 0..<perCreator { try store.createRefreshFamily(GrantIndexTests.family()) }
            } catch {
                Issue.record("failed: \(error)")
            }
            finished.add(1, ordering: .releasing)
        }
        #expect(try f.store.refreshFamilies(subject: "alice").count == creators * perCreator)
        _ = f.store.collectGarbage(now: GrantIndexTests.start.adding(seconds: 1), retentionSeconds: 0, shards: [shard])
        #expect(try f.store.refreshFamilies(subject: "alice").count == creators * perCreator)
    }
}
