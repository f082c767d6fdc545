#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// Refresh-token families and access-token revocation, in the same state directory and with
/// the same rules: per-family flock, atomic durable writes, O(1) per request.
extension FileFlowStore {
    private func familyPaths(_ id: String) -> (dir: String, record: String, lock: String) {
        let dir = directory.familiesShard(StateDirectory.shard(of: id))
        return (dir, "\(dir)/\(id).family", "\(dir)/\(id).lock")
    }

    private func refreshIndexPaths(_ hash: String) -> (dir: String, entry: String) {
        let dir = directory.refreshShard(StateDirectory.shard(of: hash))
        return (dir, "\(dir)/\(hash)")
    }

    private func writeRefreshIndex(_ hash: String, family: RefreshFamily) throws {
        let paths = refreshIndexPaths(hash)
        try Sys.atomicWrite(directory: paths.dir, name: hash, RecordCoding.encodeIndex(flowID: family.id, expiresAt: family.expiresAt))
    }

    public func createRefreshFamily(_ family: RefreshFamily) throws {
        precondition(Self.isHexKey(family.id) && Self.isHexKey(family.currentTokenHash))
        try writeRefreshIndex(family.currentTokenHash, family: family)
        let paths = familyPaths(family.id)
        try Sys.atomicWrite(directory: paths.dir, name: "\(family.id).family", RecordCoding.encode(family))
    }

    public func refreshFamilyID(forTokenHash hash: String) throws -> String? {
        guard Self.isHexKey(hash) else { return nil }
        return try Sys.readFile(refreshIndexPaths(hash).entry).flatMap(RecordCoding.decodeIndex)?.flowID
    }

    public func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
        guard Self.isHexKey(id) else { return try body(nil).result }
        let paths = familyPaths(id)
        guard let fd = try Sys.open(paths.lock, O_RDWR | O_CREAT) else { throw FlowStorageError(.io, "open \(paths.lock)") }
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, paths.lock)
            let family = try Sys.readFile(paths.record).map { try RecordCoding.decodeFamily($0, path: paths.record) }
            let (updated, result) = try body(family)
            if let updated {
                precondition(updated.id == id, "a family update may not change its id")
                if updated.currentTokenHash != family?.currentTokenHash {
                    try writeRefreshIndex(updated.currentTokenHash, family: updated)
                }
                try Sys.atomicWrite(directory: paths.dir, name: "\(id).family", RecordCoding.encode(updated))
            }
            return result
        }
    }

    private func revokedPath(_ id: String) -> (dir: String, name: String) {
        let key = Encoding.sha256Hex(id)
        return (directory.revokedShard(StateDirectory.shard(of: key)), key)
    }

    public func revokeAccessToken(id: String, expiresAt: UnixTime) throws {
        let path = revokedPath(id)
        try Sys.atomicWrite(directory: path.dir, name: path.name, Array("\(expiresAt.milliseconds)\n".utf8))
    }

    public func isAccessTokenRevoked(id: String) -> Bool {
        let path = revokedPath(id)
        return Sys.stat("\(path.dir)/\(path.name)") != nil
    }
}
