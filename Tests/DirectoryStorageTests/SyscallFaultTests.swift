#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@_spi(Testing) @testable import DirectoryStorage
@_spi(Testing) @testable import HostFiles
import Testing

/// The store's EIO and ENOSPC paths, reached with `SyscallFaults` rather than a broken disk.
/// Every rule names a path under the test's own temporary directory, so tests running in
/// parallel are untouched.
struct SyscallFaultTests {
    func names(in dir: String) -> [String] { ((try? Sys.listDirectory(dir)) ?? []).sorted() }

    func flowID(_ auth: DeviceAuthorizationResponse) -> String { Encoding.sha256Hex(auth.deviceCode) }

    /// The hook itself: the nth matching call only, the path scope, and errors that keep the
    /// call, the path and errno.
    @Test func faultsFireOnTheChosenCallAndOccurrenceAndKeepErrno() throws {
        let f = try StoreFixture()
        let dir = "\(f.root)/flows/00"
        try SyscallFaults.with(EIO, on: "fsync", pathContaining: dir, .nth(2)) { rule in
            try Sys.atomicWrite(directory: dir, name: "a", [1], syncDirectory: false)
            let error = try #require(throws: FlowStorageError.self) {
                try Sys.atomicWrite(directory: dir, name: "b", [2], syncDirectory: false)
            }
            #expect(error.kind == .io && error.call == "fsync" && error.errno == EIO)
            #expect(error.path?.hasPrefix("\(dir)/.tmp-") == true)
            #expect(error.description == "state directory I/O error: fsync \(error.path!): Input/output error")
            #expect(SyscallFaults.fired(rule) == 1)
            try Sys.atomicWrite(directory: dir, name: "c", [3], syncDirectory: false)
            // Another directory is out of the rule's scope.
            try Sys.atomicWrite(directory: "\(f.root)/flows/01", name: "d", [4], syncDirectory: false)
        }
        #expect(names(in: dir).filter { $0 != "polls" } == ["a", "c"], "the failed write left no temp file and no target")
        let full = try #require(throws: FlowStorageError.self) {
            try SyscallFaults.with(ENOSPC, on: "write", pathContaining: dir) { _ in
                try Sys.atomicWrite(directory: dir, name: "e", [5])
            }
        }
        #expect(full.kind == .noSpace && full.errno == ENOSPC && full.call == "write")
        #expect(try Sys.openIfExists("\(dir)/missing", O_RDONLY) == nil)
        let missing = try #require(throws: FlowStorageError.self) { try Sys.open("\(dir)/missing", O_RDONLY) }
        #expect(missing.call == "open" && missing.errno == ENOENT && missing.path == "\(dir)/missing")
    }

    /// The commands' atomic write (users file, demo password file): a new file is 0600, a
    /// replaced one keeps its mode; a failed write or fsync leaves the old file whole and no
    /// temp file beside it.
    @Test func atomicFileReplacesWholeOrNotAtAll() throws {
        let f = try StoreFixture()
        let dir = f.temp.path + "/etc"
        try Sys.mkdir(dir, 0o755)
        let path = dir + "/htpasswd"
        try AtomicFile.replace(path, with: Array("a:1\n".utf8))
        var st = try #require(Sys.stat(path))
        #expect(st.st_mode & 0o777 == 0o600 && f.read(path) == Array("a:1\n".utf8))
        chmod(path, 0o640)
        st = try #require(Sys.stat(path))
        for call in ["write", "fsync"] {
            let error = try #require(throws: FlowStorageError.self) {
                try SyscallFaults.with(call == "write" ? ENOSPC : EIO, on: call, pathContaining: dir) { _ in
                    try AtomicFile.replace(path, with: Array("a:2\n".utf8), like: st)
                }
            }
            #expect(error.call == call && error.path?.hasPrefix(dir + "/.tmp-") == true)
            #expect(f.read(path) == Array("a:1\n".utf8), "a failed \(call) leaves the old file")
            #expect(names(in: dir) == ["htpasswd"], "and no temp file")
        }
        try SyscallFaults.with(EIO, on: "fsync", pathContaining: dir, .nth(2)) { rule in
            // The file's own fsync, then the directory's: a failure of the latter is reported.
            #expect(throws: FlowStorageError.self) { try AtomicFile.replace(path, with: Array("a:3\n".utf8), like: st) }
            #expect(SyscallFaults.fired(rule) == 1)
        }
        try AtomicFile.replace(path, with: Array("a:4\n".utf8), like: st)
        #expect(f.read(path) == Array("a:4\n".utf8) && Sys.stat(path)!.st_mode & 0o777 == 0o640)
    }

    /// A failed fdatasync retires the log as `<minute>-failed-<pid>-<n>.log`: the failing
    /// creation is refused, a second process whose frame went into the retired log writes it
    /// again into a fresh log and syncs it there, and the replay still reads the retired log.
    @Test func aFailedFdatasyncRetiresTheLogAndWaitingFramesAreWrittenAgain() throws {
        let f = try StoreFixture()
        let journal = "\(f.root)/journal"
        let first = try f.authorize()
        let window = CreationJournal.window(of: f.clock.now())
        // A second process: its own store, its own descriptors on the journal.
        let other = try FileFlowStore(directory: StateDirectory(root: f.root))
        let otherService = f.makeService(over: other)
        _ = try otherService.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())

        let refused = try #require(throws: FlowStorageError.self) {
            try SyscallFaults.with(EIO, on: "fdatasync", pathContaining: "\(journal)/\(window).log", .nth(1)) { _ in
                try f.authorize()
            }
        }
        #expect(refused.call == "fdatasync" && refused.errno == EIO && refused.kind == .io)
        let retired = try #require(names(in: journal).first { $0.hasPrefix("\(window)-failed-\(getpid())-") && $0.hasSuffix(".log") })
        #expect(CreationJournal.payloads(in: f.read("\(journal)/\(retired)")).count == 3, "two acknowledged frames and the refused one")
        #expect(!names(in: journal).contains("\(window).log"))
        #expect(f.files().filter { $0.hasSuffix(".flow") }.count == 2, "the refused flow's names are removed")

        // The other process still holds the retired log open: its next frame lands there,
        // is found unnamed under the flock, and is written again into a fresh log.
        let late = try otherService.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        let lateRecord = f.read("\(f.root)/flows/\(flowID(late).prefix(2))/\(flowID(late)).flow")
        #expect(CreationJournal.payloads(in: f.read("\(journal)/\(retired)")).map(Array.init).last == lateRecord)
        let fresh = f.read("\(journal)/\(window).log")
        #expect(CreationJournal.payloads(in: fresh).map(Array.init) == [lateRecord])
        let synced = f.read("\(journal)/\(window).synced")
        #expect(CreationJournal.uint64(synced, at: 0) == UInt64(fresh.count), "synced in the fresh log")

        // A power cut that loses every record: the replay restores them from both logs.
        for auth in [first, late] {
            unlink("\(f.root)/flows/\(flowID(auth).prefix(2))/\(flowID(auth)).flow")
        }
        let recovery = try FileFlowStore(directory: StateDirectory(root: f.root)).recoverJournal(now: f.clock.now())
        #expect(recovery.logs == 2 && recovery.restoredRecords >= 2)
        for auth in [first, late] {
            #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
        }
        // Retired logs are never removed automatically, not even at a clean stop.
        _ = try f.store.checkpointJournal(now: f.clock.now().adding(seconds: 600), quiescent: true)
        #expect(names(in: journal).contains(retired))
    }

    /// After a failed syncfs the checkpoint removes nothing more until a restart: the next
    /// sync might report success without writing the pages the failed one lost.
    @Test func aFailedSyncfsLatchesTheCheckpointOffUntilARestart() throws {
        let f = try StoreFixture()
        let journal = "\(f.root)/journal"
        _ = try f.authorize()
        let closed = CreationJournal.window(of: f.clock.now())
        f.clock.advance(seconds: 120)
        _ = try f.authorize()

        let failed = try #require(throws: FlowStorageError.self) {
            try SyscallFaults.with(EIO, on: "syncfs", pathContaining: f.root, .nth(1)) { _ in
                try f.store.checkpointJournal(now: f.clock.now())
            }
        }
        #expect(failed.call == "syncfs" && failed.errno == EIO && failed.path == f.root)
        #expect(names(in: journal).contains("\(closed).log"))
        // The disk is fine again, but this store does not trust the next sync.
        let latched = try #require(throws: FlowStorageError.self) { try f.store.checkpointJournal(now: f.clock.now()) }
        #expect(latched.call == "syncfs" && latched.errno == EIO && latched.message.contains("a restart replays"))
        #expect(throws: FlowStorageError.self) { try f.store.checkpointJournal(now: f.clock.now(), quiescent: true) }
        #expect(names(in: journal).contains("\(closed).log"), "no log removed while latched")

        // A restart: replay, then the checkpoint works again.
        let restarted = try FileFlowStore(directory: StateDirectory(root: f.root))
        _ = try restarted.recoverJournal(now: f.clock.now())
        #expect(try restarted.checkpointJournal(now: f.clock.now()) == 1)
        #expect(!names(in: journal).contains("\(closed).log"))
    }

    /// ENOSPC on any write or pwrite of the state directory, for as long as the rule holds.
    func withFullDisk<T>(_ f: StoreFixture, _ body: () throws -> T) rethrows -> T {
        try SyscallFaults.with(ENOSPC, on: "write", pathContaining: f.root) { _ in
            try SyscallFaults.with(ENOSPC, on: "pwrite", pathContaining: f.root) { _ in try body() }
        }
    }

    func expectNoSpace(_ f: StoreFixture, _ what: String, _ body: () throws -> Void) {
        do {
            try withFullDisk(f, body)
            Issue.record("\(what) succeeded on a full disk")
        } catch let error as FlowStorageError {
            #expect(error.kind == .noSpace && error.errno == ENOSPC, "\(what): \(error)")
        } catch {
            Issue.record("\(what) threw \(error), not a FlowStorageError")
        }
    }

    /// Every write path of the flow store on a full disk: a `.noSpace` error (the HTTP layer's
    /// 503), and the state as it was before, so the same request succeeds once there is room.
    @Test func aFullDiskRefusesEveryFlowStoreWriteAndKeepsThePreviousState() throws {
        let f = try StoreFixture()
        let now = f.clock.now()
        let before = f.files()
        expectNoSpace(f, "flow creation") { _ = try f.authorize() }
        #expect(f.files() == before, "a refused creation leaves no file behind")

        let auth = try f.authorize()
        expectNoSpace(f, "approval") {
            _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: now, now: now).get()
        }
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: now) == .error(.authorizationPending))
        f.clock.advance(seconds: 10)
        _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get()

        expectNoSpace(f, "redemption") { _ = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) }
        f.clock.advance(seconds: 10)
        guard case .tokens = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("the approval did not survive the refused redemption"); return
        }

        let family = RefreshFamily(id: String(repeating: "1", count: 64), clientID: f.client.clientID, subject: "alice",
                                   scope: ScopeSet(["openid"]), authTime: now, createdAt: now, expiresAt: now.adding(seconds: 3600),
                                   currentTokenHash: String(repeating: "2", count: 64))
        expectNoSpace(f, "refresh family creation") { try f.store.createRefreshFamily(family) }
        #expect(try f.store.refreshFamilyID(forTokenHash: family.currentTokenHash) == nil)
        try f.store.createRefreshFamily(family)
        var rotated = family
        rotated.currentTokenHash = String(repeating: "3", count: 64)
        expectNoSpace(f, "refresh rotation") {
            try f.store.updateRefreshFamily(id: family.id) { _ in (rotated, ()) }
        }
        #expect(try f.store.updateRefreshFamily(id: family.id) { ($0, $0?.currentTokenHash) } == family.currentTokenHash,
                "the family still names the old refresh token")

        expectNoSpace(f, "revocation") { try f.store.revokeAccessToken(id: "jti-1", expiresAt: now.adding(seconds: 60)) }
        #expect(try !f.store.isAccessTokenRevoked(id: "jti-1"))
        expectNoSpace(f, "subject revocation") { try f.store.revokeSubject("alice", at: now, keepUntil: now.adding(seconds: 60)) }
        #expect(try f.store.subjectRevokedAt("alice") == nil)
    }

    /// Authorization codes on a full disk or a failing fsync: the creation is refused and
    /// leaves no file (no redirect carries a code that is not durable); a redemption is
    /// refused and the code is as it was, so the same request succeeds once there is room.
    @Test func aFailingDiskRefusesAuthorizationCodeWritesAndKeepsThePreviousState() throws {
        let f = try StoreFixture()
        let now = f.clock.now()
        let code = AuthorizationCodeRecord(id: String(repeating: "4", count: 64), clientID: "web", subject: "alice", scope: ScopeSet(["openid"]),
                                           authTime: now, createdAt: now, expiresAt: now.adding(seconds: 60),
                                           redirectURI: "http://127.0.0.1/cb", codeChallenge: nil, nonce: nil)
        let before = f.files()
        expectNoSpace(f, "code creation") { try f.store.createAuthorizationCode(code) }
        let failedSync = try #require(throws: FlowStorageError.self) {
            try SyscallFaults.with(EIO, on: "fsync", pathContaining: "\(f.root)/authcodes") { _ in try f.store.createAuthorizationCode(code) }
        }
        #expect(failedSync.kind == .io && failedSync.call == "fsync")
        #expect(f.files() == before, "a refused creation leaves no file behind")
        #expect(try f.store.updateAuthorizationCode(id: code.id) { (nil, $0) } == nil)

        try f.store.createAuthorizationCode(code)
        var redeemed = code
        redeemed.redeemedAt = now
        redeemed.issued = .init(accessToken: .init(id: "jti-4", expiresAt: now.adding(seconds: 3600)), refreshFamilyID: nil)
        expectNoSpace(f, "code redemption") { try f.store.updateAuthorizationCode(id: code.id) { _ in (redeemed, ()) } }
        #expect(try f.store.updateAuthorizationCode(id: code.id) { (nil, $0) } == code, "the code is still unredeemed")
        try SyscallFaults.with(EIO, on: "fsync", pathContaining: "\(f.root)/authcodes", .nth(2)) { rule in
            // The record's fsync passes, the directory's fails: reported, not swallowed.
            #expect(throws: FlowStorageError.self) { try f.store.updateAuthorizationCode(id: code.id) { _ in (redeemed, ()) } }
            #expect(SyscallFaults.fired(rule) == 1)
        }
        try f.store.updateAuthorizationCode(id: code.id) { _ in (redeemed, ()) }
        #expect(try f.store.updateAuthorizationCode(id: code.id) { (nil, $0) } == redeemed)
    }

    /// The verification page's writes and the admission counters on a full disk.
    @Test func aFullDiskRefusesSessionAndCounterWritesAndKeepsThePreviousState() throws {
        let f = try StoreFixture()
        let web = try FileWebStateStore(directory: f.store.directory)
        let now = f.clock.now()
        let id = String(repeating: "a", count: 64)
        let session = WebSession(subject: "alice", authTime: now, expiresAt: now.adding(seconds: 3600))
        try web.saveSession(idHash: id, session)
        expectNoSpace(f, "session write") {
            try web.saveSession(idHash: id, WebSession(subject: "mallory", authTime: now, expiresAt: now.adding(seconds: 7200)))
        }
        #expect(try web.session(idHash: id) == session)

        #expect(try web.increment(key: "sign-in 192.0.2.1", windowSeconds: 60, now: now).count == 1)
        expectNoSpace(f, "counter increment") { _ = try web.increment(key: "sign-in 192.0.2.1", windowSeconds: 60, now: now) }
        #expect(try web.count(key: "sign-in 192.0.2.1", windowSeconds: 60, now: now).count == 1)
        expectNoSpace(f, "counter decrement") { try web.decrement(key: "sign-in 192.0.2.1", windowEnd: WindowCount.windowEnd(now: now, seconds: 60)) }
        #expect(try web.count(key: "sign-in 192.0.2.1", windowSeconds: 60, now: now).count == 1)
    }

    /// The pending-flow caps: a refused write counts the flow under none of its keys, even
    /// when the disk fills between the address's counter and the client's.
    @Test(arguments: [SyscallFaults.Occurrence.every, .nth(2)])
    func aFullDiskRefusesAnAdmissionAndCountsNothing(occurrence: SyscallFaults.Occurrence) throws {
        let f = try StoreFixture()
        let counters = FileAdmissionCounters(directory: f.store.directory)
        let keys = [AdmissionKey(name: "address:192.0.2.1", limit: 5, kind: .address), AdmissionKey(name: "client:tv", limit: 8, kind: .client)]
        let now = f.clock.now()
        #expect(try counters.admit(keys, expiresAt: now.adding(seconds: 600), lifetimeSeconds: 600, now: now) == nil)
        let error = try #require(throws: FlowStorageError.self) {
            try SyscallFaults.with(ENOSPC, on: "pwrite", pathContaining: f.root, occurrence) { _ in
                try counters.admit(keys, expiresAt: now.adding(seconds: 600), lifetimeSeconds: 600, now: now)
            }
        }
        #expect(error.kind == .noSpace && error.errno == ENOSPC)
        #expect(try counters.live("address:192.0.2.1", now: now) == 1 && counters.live("client:tv", now: now) == 1)
    }
}
