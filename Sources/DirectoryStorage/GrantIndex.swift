#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Which refresh families a subject has, so that "Your devices" (`refreshFamilies(subject:)`)
/// reads one file and then one family each, never a directory listing:
///
/// ```
/// grants/<xx>/<sha256("subject " + name)>        "<family id> <expires ms>\n" lines, appended
/// grants/<xx>/<sha256("subject " + name)>.lock   flock target; never renamed over
/// ```
///
/// - **Append** (`appending`) takes the lock, appends one line with a single write, makes it
///   durable (fdatasync, and an fsync of the shard when the file is new), and runs the caller's
///   write of the family while still holding the lock. The entry is written before the family:
///   a crash in between leaves an entry that points at nothing (skipped, then dropped by
///   `compact`), never a grant the person cannot see. A line torn by a crash is closed with a
///   newline by the next append and skipped on read.
/// - **Read** takes no lock: lines are only appended, and a compaction replaces the file by
///   rename, so a reader sees the old file or the new one, both holding every live entry. An
///   unterminated last line (an append in progress) is ignored: its family is not written yet.
///   A read that fails, or an index over `sizeLimit`, throws: it is never a shorter list.
/// - **Compaction** (garbage collection) takes the lock without waiting, so it never runs
///   between an append and the family's write; it drops entries whose family is known gone
///   (ENOENT) or expired and rewrites the file atomically, or removes the file and then its
///   lock file (a waiter that then gets the lock of the unlinked file sees `st_nlink == 0`
///   and opens it again). What it cannot read it leaves as it is and counts as an error.
/// - **Repair**: garbage collection adds live families that have no entry (written by an
///   older version's worker), and a directory from before the index is indexed at its first
///   start (`GrantIndex+Building.swift`).
struct GrantIndex {
    let directory: StateDirectory

    /// The index file of `subject`, its shard and its lock.
    func paths(subject: String) -> (dir: String, entries: String, lock: String) {
        let key = Encoding.sha256Hex("subject " + subject)
        let dir = directory.grantsShard(StateDirectory.shard(of: key))
        return (dir, "\(dir)/\(key)", "\(dir)/\(key).lock")
    }

    /// Appends `familyID` to `subject`'s index, durably, then runs `body` (the family's write)
    /// before the lock is released.
    func appending<T>(subject: String, familyID: String, expiresAt: UnixTime, then body: () throws -> T) throws -> T {
        let paths = paths(subject: subject)
        let result = try Self.holdingLock(paths.lock, wait: true) {
            try Self.append(familyID: familyID, expiresAt: expiresAt, to: paths)
            return try body()
        }
        // A waiting flock either takes the lock or throws; nil would be a broken promise of Sys.
        guard let result else { throw FlowStorageError(.io, "flock \(paths.lock): not taken") }
        return result
    }

    /// One line appended with a single write, after a newline if the last line is torn, then
    /// fdatasync (and an fsync of the shard when the file is new). The caller holds the lock.
    static func append(familyID: String, expiresAt: UnixTime, to paths: (dir: String, entries: String, lock: String)) throws {
        let fd = try Sys.open(paths.entries, O_RDWR | O_CREAT | O_APPEND)
        try Sys.closeAfter(fd) { fd in
            let size = try Sys.fstat(fd, paths.entries).st_size
            var line = RecordCoding.encodeIndex(flowID: familyID, expiresAt: expiresAt)
            if size > 0, try Sys.pread(fd, paths.entries, count: 1, offset: size - 1) != [0x0A] { line.insert(0x0A, at: 0) }
            try Sys.writeAll(fd, paths.entries, line)
            try Sys.fdatasync(fd, paths.entries)
            if size == 0 { try Sys.fsyncDirectory(paths.dir) }
        }
    }

    /// The family ids in `subject`'s index, each once, oldest entry first. Lines that do not
    /// parse (torn by a crash) are skipped; an index that cannot be read, or is over
    /// `sizeLimit`, throws (`read`): never a list cut short.
    func familyIDs(subject: String) throws -> [String] {
        guard let bytes = try Self.read(paths(subject: subject).entries) else { return [] }
        return Self.entries(bytes).map(\.familyID)
    }

    /// The most an index file may hold: about 200,000 entries, far past any person's devices.
    static let sizeLimit = 16 << 20

    /// The whole index file at `path`; nil only when it does not exist (ENOENT). Any other
    /// failure throws, and so does a file over `sizeLimit` (`.corrupt`, checked by fstat before
    /// reading and again after): a caller never takes an error for absence or a cut copy for
    /// the whole, so compaction never rewrites or removes what it could not read.
    static func read(_ path: String) throws -> [UInt8]? {
        guard let fd = try Sys.openIfExists(path, O_RDONLY) else { return nil }
        return try Sys.closeAfter(fd) { fd in
            let tooLarge = FlowStorageError(.corrupt, "grant index \(path) is larger than \(sizeLimit >> 20) MiB; it is left as it is (read it and remove the entries of families that no longer exist)")
            guard try Sys.fstat(fd, path).st_size <= sizeLimit else { throw tooLarge }
            let bytes = try Sys.readAll(fd, path, limit: sizeLimit + 1)
            guard bytes.count <= sizeLimit else { throw tooLarge }
            return bytes
        }
    }

    /// The complete, well-formed lines of an index file, first occurrence of each family.
    static func entries(_ bytes: [UInt8]) -> [(familyID: String, expiresAt: UnixTime)] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        lines.removeLast() // after the last newline: empty, or a line still being written
        var seen = Set<String>()
        return lines.compactMap { line in
            guard let entry = RecordCoding.decodeIndex(Array(line) + [0x0A]), FileFlowStore.isHexKey(entry.flowID),
                  seen.insert(entry.flowID).inserted else { return nil }
            return (entry.flowID, entry.expiresAt)
        }
    }

    /// Runs `body` holding the flock of `lock` (created if missing); nil when `wait` is false
    /// and another process holds it. A lock file unlinked while we waited is opened again.
    static func holdingLock<T>(_ lock: String, wait: Bool, _ body: () throws -> T) throws -> T? {
        while true {
            let outcome: T?? = try Sys.closeAfter(try Sys.open(lock, O_RDWR | O_CREAT)) { fd in
                guard try Sys.lockExclusive(fd, lock, wait: wait) else { return .some(nil) }
                guard try Sys.fstat(fd, lock).st_nlink > 0 else { return nil }
                return .some(try body())
            }
            if let outcome { return outcome }
        }
    }
}
