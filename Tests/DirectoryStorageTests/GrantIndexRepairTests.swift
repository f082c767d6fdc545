#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@_spi(Testing) @testable import DirectoryStorage
@_spi(Testing) @testable import HostFiles
import Testing

/// The grant index when something fails or is missing: read errors are never taken for an
/// empty index, an oversized index is never cut short, and families written without an
/// entry (by an older version's worker) are found again.
@Suite struct GrantIndexRepairTests {
    var start: UnixTime { GrantIndexTests.start }
    let helpers = GrantIndexTests()

    func lines(_ path: String) throws -> [String] {
        String(decoding: try Sys.readFile(path, limit: 64 << 20) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// One transient EIO on the index read during garbage collection must not read as "no
    /// index": the old code removed the file and its lock, and the person's grants vanished.
    @Test func anIndexThatCannotBeReadIsLeftAsItWas() throws {
        let f = try StoreFixture()
        let family = GrantIndexTests.family()
        try f.store.createRefreshFamily(family)
        let paths = helpers.index(f)
        let before = try Sys.readFile(paths.entries)
        let report = SyscallFaults.with(EIO, on: "read", pathContaining: paths.entries) { rule in
            defer { #expect(SyscallFaults.fired(rule) >= 1) }
            return helpers.collect(f, now: start.adding(seconds: 1))
        }
        #expect(report.errors >= 1 && report.grantEntries == 0)
        #expect(report.errorMessages.contains { $0.contains(paths.entries) }, "\(report)")
        #expect(try Sys.readFile(paths.entries) == before)
        #expect(Sys.stat(paths.lock) != nil, "the lock file stays with its index")
        #expect(try f.store.refreshFamilies(subject: "alice") == [family])
    }

    /// An entry is dropped only when its family file is missing or expired: a family that
    /// cannot be checked (here its entry's expiry has passed, the family's own has not) stays.
    /// ("stat" guards against a check by stat(2) again: `Sys.stat` cannot tell ENOENT apart.)
    @Test(arguments: ["stat", "open", "read"])
    func aFamilyThatCannotBeCheckedKeepsItsEntry(call: String) throws {
        let f = try StoreFixture()
        let family = GrantIndexTests.family(lifetime: 10)
        try f.store.createRefreshFamily(family)
        let extended = try f.store.updateRefreshFamily(id: family.id) { stored -> (family: RefreshFamily?, result: RefreshFamily) in
            var longer = try #require(stored)
            longer.expiresAt = start.adding(seconds: 86_400)
            return (longer, longer)
        }
        let paths = helpers.index(f)
        let report = SyscallFaults.with(EIO, on: call, pathContaining: f.store.familyPaths(family.id).record) { _ in
            helpers.collect(f, now: start.adding(seconds: 11))
        }
        #expect(report.grantEntries == 0)
        #expect(try helpers.entries(paths.entries) == [family.id])
        #expect(helpers.collect(f, now: start.adding(seconds: 12)).grantEntries == 0, "the family's own expiry has not passed")
        #expect(try f.store.refreshFamilies(subject: "alice") == [extended])
    }

    /// An index over the size limit is an error for the reader and left alone by compaction:
    /// read short, it lost the newest entries on the request path and in the rewrite.
    @Test func anIndexOverTheLimitIsNeitherReadShortNorRewritten() throws {
        let f = try StoreFixture()
        let first = GrantIndexTests.family(), newest = GrantIndexTests.family()
        try f.store.createRefreshFamily(first)
        let paths = helpers.index(f)
        // Entries of families that do not exist, past the limit: compaction would drop them.
        let filler = RecordCoding.encodeIndex(flowID: GrantIndexTests.randomHex(), expiresAt: start.adding(seconds: 86_400))
        let padding = Array([[UInt8]](repeating: filler, count: GrantIndex.sizeLimit / filler.count + 1).joined())
        let fd = try Sys.open(paths.entries, O_WRONLY | O_APPEND)
        try Sys.closeAfter(fd) { try Sys.writeAll($0, paths.entries, padding) }
        try f.store.createRefreshFamily(newest)
        let before = try #require(Sys.stat(paths.entries))
        #expect(Int(before.st_size) > GrantIndex.sizeLimit)

        #expect(throws: FlowStorageError.self) { try f.store.refreshFamilies(subject: "alice") }
        let report = helpers.collect(f, now: start.adding(seconds: 1))
        #expect(report.errors >= 1 && report.grantEntries == 0)
        let after = try #require(Sys.stat(paths.entries))
        #expect(after.st_ino == before.st_ino && after.st_size == before.st_size, "the index was not replaced")
        #expect(try lines(paths.entries).last == String(decoding: RecordCoding.encodeIndex(flowID: newest.id, expiresAt: newest.expiresAt).dropLast(), as: UTF8.self))
    }

    /// A worker of a version before the index, still running beside a newer binary, writes
    /// families and no entries; one garbage-collection pass adds them, once.
    @Test func garbageCollectionIndexesFamiliesWrittenWithoutAnEntry() throws {
        let f = try StoreFixture()
        let indexed = GrantIndexTests.family(), unindexed = GrantIndexTests.family(), bobs = GrantIndexTests.family(subject: "bob")
        try f.store.createRefreshFamily(indexed)
        for family in [unindexed, bobs] {
            let paths = f.store.familyPaths(family.id)
            try Sys.atomicWrite(directory: paths.dir, name: "\(family.id).family", RecordCoding.encode(family))
        }
        #expect(try f.store.refreshFamilies(subject: "alice") == [indexed])
        #expect(try f.store.refreshFamilies(subject: "bob").isEmpty)

        #expect(helpers.collect(f, now: start.adding(seconds: 1)).grantEntriesAdded == 2)
        #expect(Set(try f.store.refreshFamilies(subject: "alice").map(\.id)) == [indexed.id, unindexed.id])
        #expect(try f.store.refreshFamilies(subject: "bob") == [bobs])
        #expect(helpers.collect(f, now: start.adding(seconds: 2)).grantEntriesAdded == 0)
        #expect(try lines(helpers.index(f).entries).count == 2, "no entry is added twice")
        #expect(Sys.stat(helpers.index(f, "bob").entries).map { $0.st_mode & 0o777 } == 0o600)
    }
}

/// The first build of the index in a directory from before it (`indexExistingFamilies`).
@Suite struct GrantIndexBuildTests {
    let helpers = GrantIndexTests()
    let subjects = ["alice": 3, "bob": 2, "carol": 1]

    /// Families of several subjects, and a `grants/` as a version before the index left it: none.
    func olderDirectory() throws -> (StoreFixture, [String: [RefreshFamily]]) {
        let f = try StoreFixture()
        var families: [String: [RefreshFamily]] = [:]
        for (subject, count) in subjects {
            for _ in 0..<count {
                let family = GrantIndexTests.family(subject: subject)
                try f.store.createRefreshFamily(family)
                families[subject, default: []].append(family)
            }
        }
        for index in 0..<StateDirectory.shardCount {
            let shard = f.root + "/grants/" + StateDirectory.shardName(index)
            for name in try Sys.listDirectory(shard) { try Sys.unlink(shard + "/" + name) }
            Sys.removeDirectoryIfEmpty(shard)
        }
        try Sys.unlink(f.root + "/grants/indexed")
        Sys.removeDirectoryIfEmpty(f.root + "/grants")
        return (f, families)
    }

    func expectEachSubjectHasExactlyItsFamilies(_ f: StoreFixture, _ families: [String: [RefreshFamily]]) throws {
        for (subject, theirs) in families {
            let lines = try Sys.readFile(helpers.index(f, subject).entries).map { String(decoding: $0, as: UTF8.self).split(separator: "\n") } ?? []
            #expect(lines.count == theirs.count, "\(subject): one line per family, no duplicate")
            #expect(Set(try helpers.entries(helpers.index(f, subject).entries)) == Set(theirs.map(\.id)), "\(subject)")
        }
    }

    @Test func eachSubjectGetsExactlyItsFamiliesAndABuildRunAgainAddsNoDuplicate() throws {
        let (f, families) = try olderDirectory()
        try StateDirectory(root: f.root).prepare()
        try expectEachSubjectHasExactlyItsFamilies(f, families)
        // A build cut short before `grants/indexed` runs again at the next start.
        try GrantIndex(directory: f.store.directory).indexExistingFamilies()
        try Sys.unlink(f.root + "/grants/indexed")
        try StateDirectory(root: f.root).prepare()
        try expectEachSubjectHasExactlyItsFamilies(f, families)
    }

    /// An index that holds entries when the build runs (appended by a newer worker) keeps
    /// them, first, and gains the families it lacked.
    @Test func aBuildKeepsWhatAnIndexHeldAndAddsWhatItLacked() throws {
        let (f, families) = try olderDirectory()
        try StateDirectory(root: f.root).prepare()
        let newer = GrantIndexTests.family()
        try f.store.createRefreshFamily(newer)
        let paths = helpers.index(f)
        try Sys.atomicWrite(directory: paths.dir, name: String(paths.entries.split(separator: "/").last!),
                            RecordCoding.encodeIndex(flowID: newer.id, expiresAt: newer.expiresAt))
        try GrantIndex(directory: f.store.directory).indexExistingFamilies()
        let ids = try helpers.entries(paths.entries)
        #expect(ids.first == newer.id && ids.count == 4 && Set(ids) == Set([newer.id] + families["alice"]!.map(\.id)))
        #expect(try Sys.readFile(paths.entries).map { $0.filter { $0 == 0x0A }.count } == 4)
    }

    /// The build syncs no index file one by one (the old build did one fdatasync per family).
    @Test func theBuildMakesNoSyncPerFamily() throws {
        let (f, families) = try olderDirectory()
        try SyscallFaults.with(EIO, on: "fdatasync", pathContaining: f.root + "/grants/") { rule in
            try StateDirectory(root: f.root).prepare()
            #expect(SyscallFaults.fired(rule) == 0)
        }
        try expectEachSubjectHasExactlyItsFamilies(f, families)
        #expect(throws: StateDirectory.Problem.self, "the one sync that makes the build durable is checked") {
            let (g, _) = try olderDirectory()
            try SyscallFaults.with(EIO, on: "syncfs", pathContaining: g.root) { _ in try StateDirectory(root: g.root).prepare() }
        }
    }
}

/// The operator's session listing reads; it does not tidy up.
@Suite struct SessionListingTests {
    @Test func listingSessionsOfARevokedSubjectRemovesNothing() throws {
        let f = try StoreFixture()
        let start = GrantIndexTests.start
        let web = try FileWebStateStore(directory: f.store.directory)
        let hash = GrantIndexTests.randomHex()
        try web.saveSession(idHash: hash, WebSession(subject: "alice", authTime: start, expiresAt: start.adding(seconds: 3600)))
        try f.store.revokeSubject("alice", at: start.adding(seconds: 1), keepUntil: start.adding(seconds: 7200))
        let file = f.store.directory.sessionsShard(StateDirectory.shard(of: hash)) + "/\(hash).session"
        #expect(try web.sessions(subject: "alice").isEmpty)
        #expect(try web.sessions(subject: nil).isEmpty)
        #expect(Sys.stat(file) != nil, "the listing left the ended session's file in place")
        #expect(try web.session(idHash: hash) == nil)
        #expect(Sys.stat(file) == nil, "the sign-in check still removes it")
    }
}
