#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// `FlowStorage` over the state directory: flock-ed per-flow lock files, atomic replace for
/// everything durable, O(1) work per request (a handful of syscalls on files named by hash; no
/// directory scan, no global lock).
///
/// What is durable and what is soft:
/// - a new flow and its user-code claim: one record file linked under both names, made durable
///   by a frame in the creation journal before the device is answered (`createFlow`,
///   `CreationJournal`: one `fdatasync` shared by concurrent creations);
/// - approvals, denials, redemptions and issued tokens are written temp → fsync → rename →
///   fsync(dir) before the request is answered;
/// - the last-poll time and grown interval are soft: written in place into the flow's lock
///   file without fsync. A crash can lose them; the worst outcome is one poll answered
///   `authorization_pending` instead of `slow_down`.
public final class FileFlowStore: FlowStorage {
    public let directory: StateDirectory
    private let pepper: [UInt8]
    /// Whether the directory predates user-code claims beside the flows and may still hold
    /// entries in `codes/` (see `FileFlowStore+UserCodeClaims.swift`).
    let hasLegacyCodeIndex: Bool
    /// This process's handle on the creation journal (group commit of new flows).
    let journal: CreationJournal

    /// Opens a prepared state directory (see `StateDirectory.prepare()`).
    public init(directory: StateDirectory) throws {
        self.directory = directory
        self.pepper = try directory.loadPepper()
        self.hasLegacyCodeIndex = Sys.stat(directory.codesRoot) != nil
        self.journal = CreationJournal(directory: "\(directory.root)/journal")
    }

    public func userCodeKey(forCanonicalUserCode code: String) -> String {
        Encoding.hmacSHA256Hex(key: pepper, code)
    }

    /// New flows get ids in the shard of their user-code key (see `createFlow`).
    public var colocatesFlowsWithUserCodes: Bool { true }

    func flowPaths(_ id: String) -> (dir: String, record: String, lock: String) {
        let dir = directory.flowsShard(StateDirectory.shard(of: id))
        return (dir, "\(dir)/\(id).flow", "\(dir)/\(id).lock")
    }

    /// The flow record at `path`; nil when it is missing, unreadable or does not parse (torn).
    func readFlowRecord(_ path: String) -> DeviceFlowRecord? {
        guard let bytes = try? Sys.readFile(path) else { return nil }
        return try? RecordCoding.decodeFlow(bytes, path: path)
    }

    static func isHexKey(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Makes a new pending flow durable and claims its user code, in this order:
    ///
    /// 1. the record is written to a temp file in the flow's shard (no fsync);
    /// 2. the user code is claimed by link(2) of that same file as `<key>.code` in the key's
    ///    shard, which fails if a claim exists (a live user code is never shared; an expired
    ///    one is replaced under the shard's claims lock);
    /// 3. the soft lock file is created, and the temp file renamed to `<id>.flow`;
    /// 4. the record is committed to the creation journal (`CreationJournal`): one frame
    ///    appended and made durable by an `fdatasync` that concurrent creations share.
    ///
    /// Nothing is answered before step 4. A crash after it loses at most the record's and the
    /// claim's pages, which the replay at the next start writes again from the journal; a crash
    /// before it leaves names of a flow nobody was told about, which garbage collection removes
    /// when it expires. A failure removes what was made and throws.
    public func createFlow(_ record: DeviceFlowRecord) throws {
        precondition(Self.isHexKey(record.id) && Self.isHexKey(record.userCodeKey))
        let flow = flowPaths(record.id)
        let claim = claimPaths(record.userCodeKey)
        let bytes = RecordCoding.encode(record)

        var temp: String? = try Sys.writeTemp(directory: flow.dir, bytes, sync: false, modificationTime: ExpiryStamp.flow(record))
        defer { if let temp { try? Sys.unlink(temp) } }
        try claimUserCode(file: temp!, claim: claim, for: record)
        do {
            // The lock file with fresh soft state (not durable; polls recreate it if lost).
            try Sys.closeAfter(try Sys.open(flow.lock, O_RDWR | O_CREAT)) {
                try Sys.pwriteAll($0, flow.lock, RecordCoding.encodePoll(PollState(interval: record.interval)), offset: 0)
            }
            try Sys.rename(temp!, flow.record)
            temp = nil
            try journal.commit(bytes, at: record.createdAt)
        } catch {
            try? Sys.unlink(claim.entry)
            try? Sys.unlink(flow.record)
            try? Sys.unlink(flow.lock)
            throw error
        }
    }

    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        guard Self.isHexKey(id) else {
            return try body(nil, PollState(interval: 0)).result
        }
        let flow = flowPaths(id)
        // An unknown id costs two failed opens and takes no lock: nothing exists to protect.
        let fd: Int32
        if let existing = try Sys.openIfExists(flow.lock, O_RDWR) {
            fd = existing
        } else {
            guard Sys.stat(flow.record) != nil else { return try body(nil, PollState(interval: 0)).result }
            fd = try Sys.open(flow.lock, O_RDWR | O_CREAT)
        }
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, flow.lock)
            let record = try Sys.readFile(flow.record).map { try RecordCoding.decodeFlow($0, path: flow.record) }
            let soft = RecordCoding.decodePoll(try Sys.pread(fd, flow.lock, count: RecordCoding.pollStateSize, offset: 0))
                ?? PollState(interval: record?.interval ?? 0)
            let update = try body(record, soft)
            if let newRecord = update.record {
                precondition(newRecord.id == id, "a flow update may not change the flow's id")
                try Sys.atomicWrite(directory: flow.dir, name: "\(id).flow", RecordCoding.encode(newRecord), modificationTime: ExpiryStamp.flow(newRecord))
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
