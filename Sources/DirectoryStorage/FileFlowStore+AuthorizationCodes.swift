#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Authorization codes (RFC 6749 §4.1.2) in the state directory, with the refresh families'
/// rules: one record file per code, `authcodes/<xx>/<id>.authcode`, replaced atomically
/// (temp → fsync → rename → fsync(dir)) before the call returns, and a lock file beside it,
/// `<id>.lock`, that is never renamed over: the flock that makes a redemption exclusive
/// across every worker of the host.
///
/// The id is SHA-256 of what the token endpoint was sent, so anyone can name any id: an
/// unknown one costs two failed lookups and creates nothing (no lock file per guess).
///
/// Not carried by `devicegate storage copy`: a code lives `AuthorizationCodes.lifetime`
/// (60 s), so one issued on the old host is redeemed there or not at all.
extension FileFlowStore {
    func authorizationCodePaths(_ id: String) -> (dir: String, name: String, record: String, lock: String) {
        let dir = directory.authorizationCodesShard(StateDirectory.shard(of: id))
        return (dir, "\(id).authcode", "\(dir)/\(id).authcode", "\(dir)/\(id).lock")
    }

    /// The lock file first (not synced: `updateAuthorizationCode` creates it again if a crash
    /// lost it), then the record, durable before return. A failure removes both and throws.
    public func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws {
        precondition(Self.isHexKey(record.id), "a code's id is the SHA-256 hex of the code")
        let paths = authorizationCodePaths(record.id)
        do {
            try Sys.closeAfter(try Sys.open(paths.lock, O_RDWR | O_CREAT)) { _ in }
            try Sys.atomicWrite(directory: paths.dir, name: paths.name, RecordCoding.encode(record),
                                modificationTime: ExpiryStamp.expiring(record.collectableAt))
        } catch {
            try? Sys.unlink(paths.record)
            try? Sys.unlink(paths.lock)
            throw error
        }
    }

    /// Under the code's flock: read, run `body`, and write what it returns before the lock
    /// is released. An id with no record runs `body` with nil, takes no lock and writes
    /// nothing, whatever `body` returns (codes are made only by `createAuthorizationCode`).
    public func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        guard Self.isHexKey(id) else { return try body(nil).result }
        let paths = authorizationCodePaths(id)
        let fd: Int32
        if let existing = try Sys.openIfExists(paths.lock, O_RDWR) {
            fd = existing
        } else {
            guard Sys.stat(paths.record) != nil else { return try body(nil).result }
            fd = try Sys.open(paths.lock, O_RDWR | O_CREAT)
        }
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, paths.lock)
            // Read under the lock: garbage collection may have removed the record (and the
            // lock file this descriptor names) while we waited.
            let record = try Sys.readFile(paths.record).map { try RecordCoding.decodeAuthorizationCode($0, path: paths.record) }
            if let record, record.id != id { throw FlowStorageError(.corrupt, "\(paths.record): holds the record of another code") }
            let (updated, result) = try body(record)
            if let updated, record != nil, updated != record {
                precondition(updated.id == id, "an update may not change the code's id")
                try Sys.atomicWrite(directory: paths.dir, name: paths.name, RecordCoding.encode(updated),
                                    modificationTime: ExpiryStamp.expiring(updated.collectableAt))
            }
            return result
        }
    }
}
