#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// `FlowStorage` over the state directory: flock-ed per-flow lock files, atomic replace for
/// everything durable, O(1) work per request (a handful of syscalls on files named by hash; no
/// directory scan, no global lock).
///
/// What is durable and what is soft:
/// - new flows, the user-code index, approvals, denials, redemptions and issued tokens are
///   written temp → fsync → rename → fsync(dir) before the request is answered;
/// - the last-poll time and grown interval are soft: written in place into the flow's lock
///   file without fsync. A crash can lose them; the worst outcome is one poll answered
///   `authorization_pending` instead of `slow_down`.
public final class FileFlowStore: FlowStorage {
    public let directory: StateDirectory
    private let pepper: [UInt8]

    /// Opens a prepared state directory (see `StateDirectory.prepare()`).
    public init(directory: StateDirectory) throws {
        self.directory = directory
        self.pepper = try directory.loadPepper()
    }

    public func userCodeKey(forCanonicalUserCode code: String) -> String {
        Encoding.hmacSHA256Hex(key: pepper, code)
    }

    private func flowPaths(_ id: String) -> (dir: String, record: String, lock: String) {
        let dir = directory.flowsShard(StateDirectory.shard(of: id))
        return (dir, "\(dir)/\(id).flow", "\(dir)/\(id).lock")
    }

    private func codePaths(_ key: String) -> (dir: String, entry: String) {
        let dir = directory.codesShard(StateDirectory.shard(of: key))
        return (dir, "\(dir)/\(key)")
    }

    static func isHexKey(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public func createFlow(_ record: DeviceFlowRecord) throws {
        precondition(Self.isHexKey(record.id) && Self.isHexKey(record.userCodeKey))
        let flow = flowPaths(record.id)
        let code = codePaths(record.userCodeKey)

        // 1. Claim the user code: link(2) publishes the index entry only if none exists.
        let temp = try Sys.writeTemp(directory: code.dir, RecordCoding.encodeIndex(flowID: record.id, expiresAt: record.expiresAt))
        defer { try? Sys.unlink(temp) }
        if try !Sys.linkIfAbsent(temp, code.entry) {
            // Taken. A stale entry of an expired flow may be replaced; a live one may not.
            if let existing = try Sys.readFile(code.entry).flatMap(RecordCoding.decodeIndex),
               existing.expiresAt < record.createdAt {
                try Sys.rename(temp, code.entry)
            } else {
                throw FlowStorageError(.userCodeInUse, "user code collision")
            }
        }
        do {
            // 2. The lock file with fresh soft state (not durable; polls recreate it if lost).
            if let fd = try Sys.open(flow.lock, O_RDWR | O_CREAT) {
                try Sys.closeAfter(fd) { try Sys.pwriteAll($0, flow.lock, RecordCoding.encodePoll(PollState(interval: record.interval)), offset: 0) }
            }
            // 3. The durable record, then both directory entries made durable.
            try Sys.atomicWrite(directory: flow.dir, name: "\(record.id).flow", RecordCoding.encode(record), syncDirectory: false)
            try Sys.fsyncDirectory(flow.dir)
            try Sys.fsyncDirectory(code.dir)
        } catch {
            try? Sys.unlink(code.entry)
            try? Sys.unlink(flow.record)
            try? Sys.unlink(flow.lock)
            throw error
        }
    }

    public func flowID(forUserCodeKey key: String) throws -> String? {
        guard Self.isHexKey(key) else { return nil }
        return try Sys.readFile(codePaths(key).entry).flatMap(RecordCoding.decodeIndex)?.flowID
    }

    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        guard Self.isHexKey(id) else {
            return try body(nil, PollState(interval: 0)).result
        }
        let flow = flowPaths(id)
        // An unknown id costs two failed opens and takes no lock: nothing exists to protect.
        var lockFD = try Sys.open(flow.lock, O_RDWR, missingOK: true)
        if lockFD == nil {
            guard Sys.stat(flow.record) != nil else { return try body(nil, PollState(interval: 0)).result }
            lockFD = try Sys.open(flow.lock, O_RDWR | O_CREAT)
        }
        guard let fd = lockFD else { throw FlowStorageError(.io, "open \(flow.lock)") }
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, flow.lock)
            let record = try Sys.readFile(flow.record).map { try RecordCoding.decodeFlow($0, path: flow.record) }
            let soft = RecordCoding.decodePoll(try Sys.pread(fd, flow.lock, count: RecordCoding.pollStateSize, offset: 0))
                ?? PollState(interval: record?.interval ?? 0)
            let update = try body(record, soft)
            if let newRecord = update.record {
                precondition(newRecord.id == id, "a flow update may not change the flow's id")
                try Sys.atomicWrite(directory: flow.dir, name: "\(id).flow", RecordCoding.encode(newRecord))
            }
            if let poll = update.poll {
                try Sys.pwriteAll(fd, flow.lock, RecordCoding.encodePoll(poll), offset: 0)
            }
            return update.result
        }
    }

    private func tokenPaths(_ hash: String) -> (dir: String, file: String) {
        let dir = directory.tokensShard(StateDirectory.shard(of: hash))
        return (dir, "\(dir)/\(hash).token")
    }

    public func saveAccessToken(_ record: AccessTokenRecord) throws {
        precondition(Self.isHexKey(record.tokenHash))
        let paths = tokenPaths(record.tokenHash)
        try Sys.atomicWrite(directory: paths.dir, name: "\(record.tokenHash).token", RecordCoding.encode(record))
    }

    public func accessToken(hash: String) throws -> AccessTokenRecord? {
        guard Self.isHexKey(hash) else { return nil }
        let paths = tokenPaths(hash)
        return try Sys.readFile(paths.file).map { try RecordCoding.decodeToken($0, path: paths.file) }
    }
}
