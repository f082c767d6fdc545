#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// `FlowStorage` over the state directory: per-flow locks in one table file per shard
/// (`FlowLockTable`), atomic replace for everything durable, O(1) work per request (a handful of syscalls on files named by hash; no
/// directory scan, no global lock).
///
/// What is durable and what is soft:
/// - a new flow and its user-code claim: one record file linked under both names, made durable
///   by a frame in the creation journal before the device is answered (`createFlow`,
///   `CreationJournal`: one `fdatasync` shared by concurrent creations);
/// - approvals, denials, redemptions and issued tokens are written temp → fsync → rename →
///   fsync(dir) before the request is answered;
/// - the last-poll time and grown interval are soft: written in place into the flow's slot of
///   its shard's lock table without fsync. A crash can lose them; the worst outcome is one poll
///   answered `authorization_pending` instead of `slow_down`.
public final class FileFlowStore: FlowStorage {
    public let directory: StateDirectory
    private let pepper: [UInt8]
    /// Whether the directory predates user-code claims beside the flows and may still hold
    /// entries in `codes/` (see `FileFlowStore+UserCodeClaims.swift`).
    let hasLegacyCodeIndex: Bool
    /// This process's handle on the creation journal (group commit of new flows).
    let journal: CreationJournal
    /// This process's handle on the flows' locks and soft poll state.
    let locks: FlowLockTable

    /// Opens a prepared state directory (see `StateDirectory.prepare()`).
    public init(directory: StateDirectory) throws {
        self.directory = directory
        self.pepper = try directory.loadPepper()
        self.hasLegacyCodeIndex = Sys.stat(directory.codesRoot) != nil
        self.journal = CreationJournal(directory: "\(directory.root)/journal")
        self.locks = FlowLockTable(directory: directory)
    }

    public func userCodeKey(forCanonicalUserCode code: String) -> String {
        Encoding.hmacSHA256Hex(key: pepper, code)
    }

    func flowPaths(_ id: String) -> (dir: String, record: String) {
        let dir = directory.flowsShard(StateDirectory.shard(of: id))
        return (dir, "\(dir)/\(id).flow")
    }

    /// The lock file flows had before `FlowLockTable`: no longer written or read; garbage
    /// collection removes those an earlier version left.
    static let legacyLockSuffix = ".lock"

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
    /// 3. the temp file is renamed to `<id>.flow`, and the flow's slot in its shard's lock
    ///    table (`FlowLockTable`) says it is pending (no file, no fsync: soft);
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
            try Sys.rename(temp!, flow.record)
            temp = nil
            // What a poll of the pending flow needs, so that it reads no record (soft: a
            // failure here only sends the polls to the record).
            if record.status == .pending { _ = try? locks.withLock(id: record.id) { bucket in
                try bucket.write(FlowLockTable.Entry(poll: nil, pending: FlowLockTable.PendingFlow(record)), now: record.createdAt)
            } }
            try journal.commit(bytes, at: record.createdAt)
        } catch {
            try? Sys.unlink(claim.entry)
            try? Sys.unlink(flow.record)
            throw error
        }
    }

    /// Under the flow's lock (`FlowLockTable`): read the record and the soft state, decide,
    /// write back. An unknown id takes the lock of its bucket for one failed open and writes
    /// nothing: no slot is ever given to a device code nobody issued. A record about to be
    /// replaced first loses its slot's pending flag; a record read as pending gets it (again:
    /// after an eviction or a reboot), so that its next poll reads no record.
    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        guard Self.isHexKey(id) else {
            return try body(nil, PollState(interval: 0)).result
        }
        let flow = flowPaths(id)
        let result = try locks.withLock(id: id) { bucket -> R in
            let record = try Sys.readFile(flow.record).map { try RecordCoding.decodeFlow($0, path: flow.record) }
            guard let record else {
                let update = try body(nil, PollState(interval: 0))
                if let newRecord = update.record {
                    precondition(newRecord.id == id, "a flow update may not change the flow's id")
                    try Sys.atomicWrite(directory: flow.dir, name: "\(id).flow", RecordCoding.encode(newRecord), modificationTime: ExpiryStamp.flow(newRecord))
                }
                return update.result
            }
            let slot = try bucket.entry()
            let soft = slot?.poll ?? PollState(interval: record.interval)
            let update = try body(record, soft)
            var written = record
            if let newRecord = update.record {
                precondition(newRecord.id == id, "a flow update may not change the flow's id")
                try bucket.recordWillChange(now: record.createdAt)
                try Sys.atomicWrite(directory: flow.dir, name: "\(id).flow", RecordCoding.encode(newRecord), modificationTime: ExpiryStamp.flow(newRecord))
                written = newRecord
            }
            let pending = written.status == .pending ? FlowLockTable.PendingFlow(written) : nil
            if update.poll != nil || (pending != nil && slot?.pending != pending) {
                try bucket.write(FlowLockTable.Entry(poll: update.poll ?? slot?.poll, pending: pending), now: written.createdAt)
            }
            return update.result
        }
        // withLock returns nil only when told not to wait.
        return result!
    }

    /// RFC 8628 §3.5 from the flow's slot alone, when it says the flow is pending, unexpired
    /// and this client's: one lock, one read and one write of the table, no record read.
    public func pollPendingFlow(id: String, clientID: String, now: UnixTime) throws -> OAuthError? {
        guard Self.isHexKey(id) else { return nil }
        let digest = FlowLockTable.clientDigest(clientID)
        return try locks.withLock(id: id) { bucket -> OAuthError? in
            guard let entry = try bucket.entry(), let pending = entry.pending,
                  pending.clientDigest == digest, now < pending.expiresAt else { return nil }
            let answer = DevicePolling.pending(poll: entry.poll ?? PollState(interval: pending.grantedInterval),
                                               grantedInterval: pending.grantedInterval, now: now)
            try bucket.write(FlowLockTable.Entry(poll: answer.poll, pending: pending), now: now)
            return answer.error
        } ?? nil
    }

    private func tokenPaths(_ hash: String) -> (dir: String, file: String) {
        let dir = directory.tokensShard(StateDirectory.shard(of: hash))
        return (dir, "\(dir)/\(hash).token")
    }

    public func saveAccessToken(_ record: AccessTokenRecord) throws {
        precondition(Self.isHexKey(record.tokenHash))
        let paths = tokenPaths(record.tokenHash)
        try Sys.atomicWrite(directory: paths.dir, name: "\(record.tokenHash).token", RecordCoding.encode(record),
                            modificationTime: ExpiryStamp.expiring(record.expiresAt))
    }

    public func accessToken(hash: String) throws -> AccessTokenRecord? {
        guard Self.isHexKey(hash) else { return nil }
        let paths = tokenPaths(hash)
        return try Sys.readFile(paths.file).map { try RecordCoding.decodeToken($0, path: paths.file) }
    }
}
