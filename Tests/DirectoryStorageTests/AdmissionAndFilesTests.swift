#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import HostFiles
import Testing

/// The pending-flow caps over the state directory, the keys directory's permission check and
/// the audit log's refusal of a symlink.
struct AdmissionAndFilesTests {
    static let keys = [AdmissionKey(name: "address:192.0.2.1", limit: 5, kind: .address),
                       AdmissionKey(name: "client:tv", limit: 8, kind: .client)]

    func admit(_ counters: FileAdmissionCounters, _ keys: [AdmissionKey] = keys, at now: UnixTime) throws -> AdmissionRefusal? {
        try counters.admit(keys, expiresAt: now.adding(seconds: 600), lifetimeSeconds: 600, now: now)
    }

    /// Two handles on one directory stand for two workers: the cap holds across them, a
    /// refused admission counts nothing, and the cap frees itself when the codes expire.
    @Test func capsHoldAcrossHandlesAndHealWithTime() throws {
        let f = try StoreFixture()
        let a = FileAdmissionCounters(directory: f.store.directory)
        let b = FileAdmissionCounters(directory: f.store.directory)
        let now = f.clock.now()
        for i in 0..<5 { #expect(try admit(i % 2 == 0 ? a : b, at: now) == nil) }
        let refusal = try #require(try admit(b, at: now))
        #expect(refusal.reason == .cap(.address, limit: 5))
        #expect(try a.live("address:192.0.2.1", now: now) == 5)
        #expect(try a.live("client:tv", now: now) == 5)
        // Another address of the same client: its own budget, up to the client's cap of 8.
        let other = [AdmissionKey(name: "address:198.51.100.7", limit: 5, kind: .address), Self.keys[1]]
        for _ in 0..<3 { #expect(try admit(a, other, at: now) == nil) }
        #expect(try admit(b, other, at: now)?.reason == .cap(.client, limit: 8))
        // A refusal by the client cap counted nothing under the address either.
        #expect(try a.live("address:198.51.100.7", now: now) == 3)
        // Past expiry (plus one bucket) every place is free again; garbage collection then
        // removes the files, and counting starts afresh.
        let later = now.adding(seconds: 600 + 43)
        #expect(try admit(a, at: later) == nil)
        #expect(try a.live("address:192.0.2.1", now: later) == 1)
        let removed = a.collectGarbage(now: later.adding(seconds: 700), shards: 0..<256)
        #expect(removed == 3)
        #expect(try a.live("client:tv", now: later) == 0)
    }

    /// Concurrent admissions through separate descriptors (flock contends between them as
    /// between processes) never overshoot the cap: check and count happen under one lock.
    @Test func concurrentAdmissionsNeverOvershoot() throws {
        let f = try StoreFixture()
        let directory = f.store.directory
        let now = f.clock.now()
        let keys = [AdmissionKey(name: "address:203.0.113.9", limit: 1_000, kind: .address)]
        /// One slot per thread, each written by its own thread only.
        final class Counts: @unchecked Sendable { var admitted = [Int](repeating: 0, count: 8) }
        let counts = Counts()
        counts.admitted.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots
            DispatchQueue.concurrentPerform(iterations: 8) { i in
                let counters = FileAdmissionCounters(directory: directory)
                for _ in 0..<200 {
                    do {
                        if try counters.admit(keys, expiresAt: now.adding(seconds: 600), lifetimeSeconds: 600, now: now) == nil { slots[i] += 1 }
                    } catch {
                        Issue.record("admit failed: \(error)")
                    }
                }
            }
        }
        let admitted = counts.admitted
        #expect(admitted.reduce(0, +) == 1_000)
        #expect(try FileAdmissionCounters(directory: directory).live("address:203.0.113.9", now: now) == 1_000)
    }

    @Test(arguments: [0o750, 0o705, 0o777, 0o710] as [mode_t])
    func keysDirectoryWithLooseModeIsRefused(mode: mode_t) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let dir = temp.path + "/keys"
        #expect(mkdir(dir, 0o700) == 0 && chmod(dir, mode) == 0)
        let error = #expect(throws: KeyFiles.Problem.self) { try KeyFiles(directory: dir) }
        #expect(error?.description.contains("chmod 0700 \(dir)") == true)
        #expect(chmod(dir, 0o700) == 0)
        _ = try KeyFiles(directory: dir)
    }

    @Test func keysDirectoryOfAnotherOwnerIsRefused() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let dir = temp.path + "/keys"
        #expect(mkdir(dir, 0o700) == 0)
        if geteuid() == 0 {
            #expect(chown(dir, 65534, 65534) == 0)
            let error = #expect(throws: KeyFiles.Problem.self) { try KeyFiles(directory: dir) }
            #expect(error?.description.contains("owned by uid 65534") == true)
            #expect(error?.description.contains("chown") == true)
        } else {
            // Not root: no other owner can be given; the check itself is exercised instead.
            var st = Glibc.stat()
            #expect(stat(dir, &st) == 0)
            let error = #expect(throws: KeyFiles.Problem.self) { try KeyFiles.check(dir, st, uid: st.st_uid + 1) }
            #expect(error?.description.contains("chown") == true)
        }
    }

    @Test func auditLogThroughASymlinkIsRefused() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let target = temp.path + "/elsewhere"
        let link = temp.path + "/audit.jsonl"
        #expect(symlink(target, link) == 0)
        let error = #expect(throws: AuditLogFile.Problem.self) { try AuditLogFile(path: link) }
        #expect(error?.description.contains("\(link) is a symbolic link") == true)
        #expect(access(target, F_OK) != 0, "nothing was created through the link")
        #expect(unlink(link) == 0)
    }

    /// The reopen after a rotation does not follow a link put in the log's place either
    /// (O_NOFOLLOW): the line goes to the file already open, never through the link.
    @Test func reopenAfterRotationDoesNotFollowALink() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let path = temp.path + "/audit.jsonl"
        let target = temp.path + "/victim"
        let log = try AuditLogFile(path: path)
        try log.append(line: Array("one".utf8))
        #expect(rename(path, temp.path + "/audit.jsonl.1") == 0)
        let fd = open(target, O_WRONLY | O_CREAT, 0o600)
        #expect(fd >= 0)
        close(fd)
        #expect(symlink(target, path) == 0)
        usleep(1_100_000)  // the rotation check runs at most once a (monotonic) second
        try log.append(line: Array("two".utf8))
        var st = Glibc.stat()
        #expect(stat(target, &st) == 0 && st.st_size == 0, "nothing was written through the link")
        #expect(stat(temp.path + "/audit.jsonl.1", &st) == 0 && st.st_size == 8)
    }
}
