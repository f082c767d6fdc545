#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// How a new flow becomes durable: one `fdatasync` shared by every worker that creates a flow
/// at the same moment (group commit), instead of an fsync of the record and one of its
/// directory per flow.
///
/// RFC 8628 §3.2 hands the device a `device_code` it will poll with until `expires_in`; once
/// that response is sent, a crash or power cut must not make the code unknown (the device
/// would get `invalid_grant` and the person who typed the user code a "no such code" page).
/// The record and its names (`<id>.flow`, the `<key>.code` claim) are written without fsync;
/// what makes the flow durable before the answer is its frame in the journal:
///
/// ```
/// journal/<window>.log      frames appended by every process (O_APPEND, one write(2) each)
/// journal/<window>.synced   16 bytes: how much of the log is known to be on disk, and the
///                           log's inode (a size left by another log counts for nothing)
/// journal/<window>-failed-<pid>-<n>.log   a log retired after a failed fdatasync; replayed,
///                           never removed automatically
/// journal/recovery.flock    taken while the journal is replayed
/// ```
/// `<window>` is the creation time in Unix seconds rounded down to the minute. A frame is
/// `"DGJ1"`, the payload length (UInt32, little-endian), the payload's FNV-1a 64 checksum
/// (little-endian) and the payload: the flow record exactly as `<id>.flow` holds it.
///
/// Group commit, per flow: append the frame, note where it ends, take the log's flock, and
/// read `.synced`. If another process's `fdatasync` already covered the frame, release and
/// answer; otherwise note the log's size, `fdatasync`, store that size in `.synced`, release.
/// While one process syncs, the others queue on the flock and the next `fdatasync` covers all
/// of their frames at once. The log's name is made durable (fsync of `journal/`) by each
/// process before it first appends to a log.
///
/// A start after a crash replays the journal (`FileFlowStore.recoverJournal`): every flow of
/// an unexpired frame whose record or claim is missing or torn is written again, durably. A
/// log is removed by the checkpoint after its minute is over (`FileFlowStore.checkpointJournal`:
/// one `syncfs(2)`, off the request path).
final class CreationJournal {
    static let windowSeconds: Int64 = 60
    static let magic: [UInt8] = Array("DGJ1".utf8)
    static let headerSize = 16

    let directory: String
    private var segment: (window: Int64, log: Int32, synced: Int32)?
    /// Set by the first failed checkpoint (`FileFlowStore.checkpointJournal`): after a failed
    /// syncfs the kernel may report the next one as a success without having written the same
    /// pages, so no log is removed again by this process. A restart replays the journal.
    var checkpointLatch: FlowStorageError?

    init(directory: String) {
        self.directory = directory
    }

    deinit { closeSegment() }

    static func window(of time: UnixTime) -> Int64 {
        let s = time.seconds
        return s - ((s % windowSeconds) + windowSeconds) % windowSeconds
    }

    func logPath(_ window: Int64) -> String { "\(directory)/\(window).log" }
    func syncedPath(_ window: Int64) -> String { "\(directory)/\(window).synced" }

    private func closeSegment() {
        if let s = segment {
            Sys.close(s.log)
            Sys.close(s.synced)
        }
        segment = nil
    }

    private func openSegment(_ window: Int64) throws -> (window: Int64, log: Int32, synced: Int32) {
        if let s = segment, s.window == window { return s }
        closeSegment()
        let log = try Sys.open(logPath(window), O_WRONLY | O_APPEND | O_CREAT)
        var synced: Int32 = -1
        do {
            synced = try Sys.open(syncedPath(window), O_RDWR | O_CREAT)
            // Whoever created the log, its name is on disk before this process relies on it.
            try Sys.fsyncDirectory(directory)
        } catch {
            Sys.close(log)
            if synced >= 0 { Sys.close(synced) }
            throw error
        }
        segment = (window, log, synced)
        return (window, log, synced)
    }

    /// Appends `payload` and returns once it is on disk, by this process's `fdatasync` or by
    /// another's that began after the append.
    func commit(_ payload: [UInt8], at time: UnixTime) throws {
        let frame = Self.frame(payload)
        let window = Self.window(of: time)
        // A log can be removed (checkpoint) or retired (a failed sync) under an append: the
        // frame then goes into a fresh log. Both happen under the log's flock, and the name is
        // checked against this descriptor's inode under it.
        for _ in 0..<3 {
            let s = try openSegment(window)
            let path = logPath(window)
            do {
                let end = try Sys.appendFrame(s.log, path, frame)
                let committed = try Sys.withExclusiveLock(s.log, path) { () -> Bool in
                    let st = try Sys.fstat(s.log, path)
                    guard let named = Sys.stat(path), named.st_ino == st.st_ino, named.st_dev == st.st_dev else { return false }
                    // `.synced` is "<size><inode>": a size another log left there counts for nothing.
                    let done = try Sys.pread(s.synced, syncedPath(window), count: 16, offset: 0)
                    if done.count == 16, Self.uint64(done, at: 8) == UInt64(st.st_ino), Self.uint64(done, at: 0) >= UInt64(end) {
                        return true
                    }
                    let size = st.st_size
                    do {
                        try Sys.fdatasync(s.log, path)
                    } catch {
                        // After a failed fdatasync the kernel may have marked the log's pages
                        // clean: a later sync by anyone would succeed without writing them.
                        // Retire the log (replay still reads it), so that every frame waiting
                        // in it is written again into a fresh log and synced there.
                        try? Sys.rename(path, "\(directory)/\(window)-failed-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
                        throw error
                    }
                    try Sys.pwriteAll(s.synced, syncedPath(window), Self.bytes(UInt64(size)) + Self.bytes(UInt64(st.st_ino)), offset: 0)
                    return true
                }
                if committed { return }
                closeSegment()
            } catch {
                // A failed write or sync may leave this process's descriptors in doubt.
                closeSegment()
                throw error
            }
        }
        throw FlowStorageError(.io, "journal \(directory): the log was removed three times during an append")
    }

    // MARK: Frames

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out = magic
        out.reserveCapacity(headerSize + payload.count)
        out += bytes(UInt32(payload.count))
        out += bytes(checksum(payload))
        out += payload
        return out
    }

    /// The payloads of the intact frames in `log`, in order. A frame that is torn (a crash
    /// during an unacknowledged append, or a short write on a full disk) is skipped by
    /// searching for the next magic whose checksum holds, so one bad frame never hides the
    /// acknowledged ones after it.
    static func payloads(in log: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var at = 0
        while at + headerSize <= log.count {
            if log[at] == magic[0], log[at + 1] == magic[1], log[at + 2] == magic[2], log[at + 3] == magic[3] {
                let length = Int(uint32(log, at: at + 4))
                let end = at + headerSize + length
                if length > 0, end <= log.count {
                    let payload = log[(at + headerSize)..<end]
                    if checksum(payload) == uint64(log, at: at + 8) {
                        out.append(payload)
                        at = end
                        continue
                    }
                }
            }
            at += 1
        }
        return out
    }

    /// FNV-1a, 64 bits: detects torn and zeroed frames (the directory is 0700; nobody forges).
    static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            hash ^= UInt64(b)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    static func uint32(_ b: [UInt8], at i: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << ($1 * 8) }
    }

    static func uint64(_ b: [UInt8], at i: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << ($1 * 8) }
    }
}

/// What replaying the journal found and repaired.
public struct JournalRecovery: Sendable, Equatable, CustomStringConvertible {
    public var logs = 0
    /// Intact frames of flows that have not expired.
    public var liveFlows = 0
    /// Flow records written again (missing or torn).
    public var restoredRecords = 0
    /// User-code claims written again (missing or torn).
    public var restoredClaims = 0

    public init() {}

    public var description: String {
        "\(logs) journal logs, \(liveFlows) live flows; restored \(restoredRecords) records and \(restoredClaims) user-code claims"
    }
}

extension FileFlowStore {
    var journalDirectory: String { "\(directory.root)/journal" }

    /// Replays the creation journal: makes sure every unexpired flow in it has a complete
    /// record and user-code claim on disk. Run at start, before any worker serves (`serve`,
    /// or a worker started without it); idempotent, and safe beside running workers. A record
    /// that reads back complete is left alone: it may be a later version (approved, redeemed).
    /// A claim held by another live flow is left alone too.
    public func recoverJournal(now: UnixTime) throws -> JournalRecovery {
        var result = JournalRecovery()
        try Sys.mkdir(journalDirectory)
        let lockPath = "\(journalDirectory)/recovery.flock"
        let fd = try Sys.open(lockPath, O_RDWR | O_CREAT)
        try Sys.closeAfter(fd) { fd in
            try Sys.withExclusiveLock(fd, lockPath) {
                for name in try Sys.listDirectory(journalDirectory).sorted() where name.hasSuffix(".log") {
                    let path = "\(journalDirectory)/\(name)"
                    guard let log = try Sys.readFile(path, limit: Int.max) else { continue }
                    result.logs += 1
                    for payload in CreationJournal.payloads(in: log) {
                        let bytes = Array(payload)
                        guard let record = try? RecordCoding.decodeFlow(bytes, path: path), !record.isExpired(at: now),
                              Self.isHexKey(record.id), Self.isHexKey(record.userCodeKey) else { continue }
                        result.liveFlows += 1
                        try restore(record, bytes, into: &result)
                    }
                }
            }
        }
        return result
    }

    private func restore(_ record: DeviceFlowRecord, _ bytes: [UInt8], into result: inout JournalRecovery) throws {
        let flow = flowPaths(record.id)
        let claim = claimPaths(record.userCodeKey)
        let recordIntact = readFlowRecord(flow.record) != nil
        let claimExists = Sys.stat(claim.entry) != nil
        let claimIntact = readFlowRecord(claim.entry) != nil
        if recordIntact && claimIntact { return }

        var temp: String? = try Sys.writeTemp(directory: flow.dir, bytes)
        defer { if let temp { try? Sys.unlink(temp) } }
        if !claimIntact {
            try withClaimsLock(claim.dir) {
                // Torn by the crash: nothing can be read from it, and the journal says whose it is.
                if claimExists, readFlowRecord(claim.entry) == nil { try Sys.unlink(claim.entry) }
                if try Sys.linkIfAbsent(temp!, claim.entry) { result.restoredClaims += 1 }
            }
        }
        if !recordIntact {
            _ = try locks.withLock(id: record.id) { _ in
                // Written again only if still not readable under the flow's lock.
                guard readFlowRecord(flow.record) == nil else { return }
                try Sys.rename(temp!, flow.record)
                temp = nil
                result.restoredRecords += 1
            }
        }
        try Sys.fsyncDirectory(flow.dir)
        if claim.dir != flow.dir { try Sys.fsyncDirectory(claim.dir) }
    }

    /// Checkpoint: once a log's minute is over, `syncfs(2)` of the state directory's
    /// filesystem writes out every record and claim its frames stand for, and the log is
    /// removed. The journal thus holds about the last minute or two of new flows, and a replay
    /// reads no more than that. Each due log's size is noted before the sync, and the log is
    /// removed only if, under its flock (taken without waiting), it is still that size: a
    /// frame appended since (a clock stepped back, a stalled worker) keeps it until the next
    /// checkpoint, and a process that appends to it while it is being removed finds its name
    /// gone under the flock and writes its frame again into a fresh log. Returns the number of
    /// logs removed; runs in the supervisor, about once a second, and syncs only when a log is
    /// due.
    ///
    /// The records a log stands for must exist before it can be removed this way: after a
    /// crash, only once the journal has been replayed (`recoverJournal`), which `serve` does
    /// at start and `devicegate gc` before its checkpoint.
    ///
    /// `quiescent`: the caller's own workers have exited (a clean stop): every log is due
    /// whatever its minute, so the next start has nothing to replay.
    ///
    /// A failed sync latches the checkpoint off for the life of this store: every later call
    /// throws at once and removes nothing (`CreationJournal.checkpointLatch`).
    public func checkpointJournal(now: UnixTime, quiescent: Bool = false) throws -> Int {
        if let latch = journal.checkpointLatch {
            var error = latch
            error.message = "journal checkpoint off since a failed sync (\(latch.message)); a restart replays the journal"
            throw error
        }
        guard let names = try? Sys.listDirectory(journalDirectory) else { return 0 }
        let present = Set(names)
        var due: [(name: String, size: off_t, inode: ino_t)] = []
        for name in names where name.hasSuffix(".log") {
            guard let window = Int64(name.dropLast(4)), quiescent || window + CreationJournal.windowSeconds + 5 <= now.seconds,
                  let st = Sys.stat("\(journalDirectory)/\(name)") else { continue }
            due.append((name, st.st_size, st.st_ino))
        }
        var removed = 0
        if !due.isEmpty {
            do {
                try Sys.syncFilesystem(directory.root)
            } catch let error as FlowStorageError {
                journal.checkpointLatch = error
                throw error
            }
            for log in due {
                let path = "\(journalDirectory)/\(log.name)"
                guard let fd = try? Sys.openIfExists(path, O_RDONLY) else { continue }
                Sys.closeAfter(fd) { fd in
                    guard (try? Sys.lockExclusive(fd, path, wait: false)) == true,
                          let st = try? Sys.fstat(fd, path), st.st_ino == log.inode, st.st_size == log.size else { return }
                    // `.synced` first: a log without it is synced again before anything is
                    // answered from it, while a `.synced` left without its log would vouch for
                    // nothing (it names the log's inode) but is tidier gone.
                    try? Sys.unlink("\(journalDirectory)/\(log.name.dropLast(4)).synced")
                    try? Sys.unlink(path)
                    removed += 1
                }
            }
        }
        // A `.synced` whose log is gone: its log was retired after a failed sync, or its
        // name was missed by a directory listing racing with the log's creation.
        for name in names where name.hasSuffix(".synced") && !present.contains(String(name.dropLast(7)) + ".log") {
            if let window = Int64(name.dropLast(7)), window + CreationJournal.windowSeconds + 5 <= now.seconds {
                try? Sys.unlink("\(journalDirectory)/\(name)")
            }
        }
        return removed
    }
}
