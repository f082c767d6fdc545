#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// `WebStateStorage` over the state directory.
///
/// - Sessions are small records written atomically (temp, fsync, rename) under
///   `sessions/<xx>/<sha256 of id>.session` (shards made on first use); the session id itself is never written. Losing
///   the directory fsync in a crash costs at most a fresh sign-in, so it is skipped.
/// - Slots are empty files `slots/<pool>-<n>`, held by an exclusive flock(2) taken without
///   waiting; the kernel drops the hold when the holder closes the file or dies.
/// - Counters are 28-byte files under `limits/<xx>/<sha256 of key>`, read and rewritten in
///   place under flock(2) on the same file, which is never renamed over (renaming over a
///   locked file loses updates). They are soft state, not fsynced: a crash can forget failed
///   attempts of the current window, never more.
public final class FileWebStateStore: WebStateStorage {
    public let directory: StateDirectory
    public let secretKey: [UInt8]

    public init(directory: StateDirectory) throws {
        self.directory = directory
        self.secretKey = try directory.loadWebSecret()
    }

    private static func isHexKey(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private func sessionPath(_ hash: String) -> (dir: String, name: String) {
        (directory.sessionsShard(StateDirectory.shard(of: hash)), "\(hash).session")
    }

    public func saveSession(idHash: String, _ session: WebSession) throws {
        precondition(Self.isHexKey(idHash))
        let path = sessionPath(idHash)
        try directory.ensureShard(path.dir)
        try Sys.atomicWrite(directory: path.dir, name: path.name, RecordCoding.encode(session), syncDirectory: false)
    }

    public func session(idHash: String) throws -> WebSession? {
        guard let (session, file) = try storedSession(idHash: idHash) else { return nil }
        if endedByRevocation(session) {
            try? Sys.unlink(file)
            return nil
        }
        return session
    }

    /// The session record as stored, and its path; nil when there is none. Writes nothing.
    func storedSession(idHash: String) throws -> (session: WebSession, file: String)? {
        guard Self.isHexKey(idHash) else { return nil }
        let path = sessionPath(idHash)
        let file = "\(path.dir)/\(path.name)"
        return try Sys.readFile(file).map { (try RecordCoding.decodeSession($0, path: file), file) }
    }

    /// Whether `devicegate users remove` or `grants revoke --subject` ended the session: it
    /// signed in before its subject's revocation (FileFlowStore.revokeSubject).
    func endedByRevocation(_ session: WebSession) -> Bool {
        guard let revoked = directory.subjectRevocation(session.subject)?.revokedAt else { return false }
        return session.authTime <= revoked
    }

    public func deleteSession(idHash: String) throws {
        guard Self.isHexKey(idHash) else { return }
        let path = sessionPath(idHash)
        try Sys.unlink("\(path.dir)/\(path.name)")
    }

    private func counterPath(_ key: String) -> String {
        let hash = Encoding.sha256Hex(key)
        return "\(directory.limitsShard(StateDirectory.shard(of: hash)))/\(hash)"
    }

    public func count(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        let path = counterPath(key)
        guard let fd = try Sys.openIfExists(path, O_RDONLY) else { return WindowCount(count: 0, windowEnd: end) }
        return try Sys.closeAfter(fd) { fd in
            try Sys.lockShared(fd, path)
            let stored = RecordCoding.decodeCounter(try Sys.pread(fd, path, count: RecordCoding.counterSize, offset: 0))
            guard let stored, stored.windowEnd == end else { return WindowCount(count: 0, windowEnd: end) }
            return stored
        }
    }

    public func increment(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        let path = counterPath(key)
        try directory.ensureShard(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
        while true {
            let fd = try Sys.open(path, O_RDWR | O_CREAT)
            let result: WindowCount? = try Sys.closeAfter(fd) { fd in
                _ = try Sys.lockExclusive(fd, path)
                // Garbage collection may have unlinked the file while we waited for the lock:
                // counting into an unlinked file would lose the attempt, so open it again.
                guard try Sys.fstat(fd, path).st_nlink > 0 else { return nil }
                let stored = RecordCoding.decodeCounter(try Sys.pread(fd, path, count: RecordCoding.counterSize, offset: 0))
                var next = WindowCount(count: 1, windowEnd: end)
                if let stored, stored.windowEnd == end { next.count = stored.count + 1 }
                try Sys.pwriteAll(fd, path, RecordCoding.encodeCounter(next), offset: 0)
                return next
            }
            if let result { return result }
        }
    }

    public func decrement(key: String, windowEnd: UnixTime) throws {
        let path = counterPath(key)
        guard let fd = try Sys.openIfExists(path, O_RDWR) else { return }
        try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, path)
            // A counter collected or of another window holds nothing of ours to take back.
            let stored = RecordCoding.decodeCounter(try Sys.pread(fd, path, count: RecordCoding.counterSize, offset: 0))
            guard var next = stored, next.windowEnd == windowEnd, next.count > 0 else { return }
            next.count -= 1
            try Sys.pwriteAll(fd, path, RecordCoding.encodeCounter(next), offset: 0)
        }
    }

    public func claimSlot(pool: String, count: Int) throws -> (any SlotClaim)? {
        let dir = "\(directory.root)/slots"
        try Sys.mkdir(dir)
        // Start at a random slot so that waiters do not all contend for slot 0.
        let slots = max(1, count)
        let first = Int.random(in: 0..<slots)
        for i in 0..<slots {
            let path = "\(dir)/\(pool)-\((first + i) % slots)"
            let fd = try Sys.open(path, O_RDWR | O_CREAT)
            if try Sys.lockExclusive(fd, path, wait: false) { return FileSlotClaim(fd: fd) }
            Sys.close(fd)
        }
        return nil
    }

    /// Removes expired sessions and counters of past windows, one shard at a time, as the
    /// flow collector does. A counter is removed only under its lock, taken without waiting.
    public func collectGarbage(now: UnixTime, shards: some Sequence<Int>) -> (sessions: Int, counters: Int) {
        var removed = (sessions: 0, counters: 0)
        for index in shards {
            let shard = StateDirectory.shardName(index % StateDirectory.shardCount)
            let sessions = directory.sessionsShard(shard)
            for name in (try? Sys.listDirectory(sessions)) ?? [] {
                let path = "\(sessions)/\(name)"
                if name.hasPrefix(".tmp-") {
                    if let st = Sys.stat(path), Int64(st.st_mtim.tv_sec) < now.seconds - 600 { try? Sys.unlink(path) }
                    continue
                }
                guard let bytes = try? Sys.readFile(path) else { continue }
                let session = try? RecordCoding.decodeSession(bytes, path: path)
                if session.map({ $0.expiresAt <= now }) ?? true {
                    try? Sys.unlink(path)
                    removed.sessions += 1
                }
            }
            let limits = directory.limitsShard(shard)
            for name in (try? Sys.listDirectory(limits)) ?? [] {
                let path = "\(limits)/\(name)"
                guard let fd = try? Sys.openIfExists(path, O_RDWR) else { continue }
                Sys.closeAfter(fd) { fd in
                    guard (try? Sys.lockExclusive(fd, path, wait: false)) == true else { return }
                    let stored = (try? Sys.pread(fd, path, count: RecordCoding.counterSize, offset: 0)).flatMap(RecordCoding.decodeCounter)
                    // Unlinked while locked; a waiter notices (st_nlink == 0) and reopens.
                    if stored.map({ $0.windowEnd <= now }) ?? true {
                        try? Sys.unlink(path)
                        removed.counters += 1
                    }
                }
            }
        }
        return removed
    }
}

/// A held slot file: the flock lasts as long as the descriptor is open.
final class FileSlotClaim: SlotClaim {
    private var fd: Int32?

    init(fd: Int32) { self.fd = fd }

    func release() {
        if let fd { Sys.close(fd) }
        fd = nil
    }

    deinit { release() }
}

extension FileWebStateStore: WebStateCollecting {
    /// One pass over every shard.
    @discardableResult
    public func collectExpiredWebState(now: UnixTime) -> (sessions: Int, counters: Int) {
        collectGarbage(now: now, shards: 0..<StateDirectory.shardCount)
    }
}
