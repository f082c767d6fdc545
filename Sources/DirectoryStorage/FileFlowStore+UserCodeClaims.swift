#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// User-code claims: how a user code finds its flow, and why two live flows never share one.
///
/// A claim is `flows/<xx>/<key>.code`, `<key>` the user-code key (HMAC-SHA-256 with the
/// pepper) and `<xx>` its first byte. It is a second name (a hard link) of the flow's first
/// record file, so it is complete and durable exactly when the record is, and it costs no write
/// of its own. Only the flow id and the expiry are read from it; the record may have been
/// replaced since (approval), the claim keeps the first version.
///
/// The rules that keep a live code unique:
/// - a claim is created only by link(2), which fails if the name exists;
/// - it is removed or replaced only while holding the shard's claims lock
///   (`flows/<xx>/claims.flock`, never renamed or removed), and only after reading it again
///   under that lock and finding its flow expired; or by its creator, before it answered.
/// So a claim read as expired under the lock is still the one at that name when it is
/// unlinked, and a claim made by link(2) in the meantime (a live one) makes the replacement
/// fail instead of being overwritten.
///
/// State directories made before claims moved here keep their user-code index in
/// `codes/<xx>/<key>` ("<flow id> <expires ms>"); it is still read, and counts as a claim,
/// until garbage collection has removed the last of those entries.
extension FileFlowStore {
    func claimPaths(_ key: String) -> (dir: String, entry: String) {
        let dir = directory.flowsShard(StateDirectory.shard(of: key))
        return (dir, "\(dir)/\(key).code")
    }

    func legacyCodePath(_ key: String) -> String {
        "\(directory.codesShard(StateDirectory.shard(of: key)))/\(key)"
    }

    /// The flow id and expiry a claim names; nil if there is none or it does not parse.
    func readClaim(_ path: String) throws -> (flowID: String, expiresAt: UnixTime)? {
        guard let bytes = try Sys.readFile(path), let record = try? RecordCoding.decodeFlow(bytes, path: path) else { return nil }
        return (record.id, record.expiresAt)
    }

    public func flowID(forUserCodeKey key: String) throws -> String? {
        guard Self.isHexKey(key) else { return nil }
        if let claim = try readClaim(claimPaths(key).entry) { return claim.flowID }
        guard hasLegacyCodeIndex else { return nil }
        return try Sys.readFile(legacyCodePath(key)).flatMap(RecordCoding.decodeIndex)?.flowID
    }

    /// Runs `body` holding the claims lock of the shard directory `dir`.
    func withClaimsLock<T>(_ dir: String, _ body: () throws -> T) throws -> T {
        let path = "\(dir)/claims.flock"
        let fd = try Sys.open(path, O_RDWR | O_CREAT)
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, path)
            return try body()
        }
    }

    /// Step 2 of `createFlow`: links `file` (the new flow's fsynced record) as the claim of its
    /// user code, replacing the claim of an expired flow, or throws `.userCodeInUse`.
    func claimUserCode(file: String, claim: (dir: String, entry: String), for record: DeviceFlowRecord) throws {
        if try !Sys.linkIfAbsent(file, claim.entry) {
            try withClaimsLock(claim.dir) {
                // Gone since (its creator failed): free. A file there that does not parse is
                // not ours to remove: in use.
                if let bytes = try Sys.readFile(claim.entry) {
                    guard let holder = try? RecordCoding.decodeFlow(bytes, path: claim.entry), holder.expiresAt < record.createdAt else {
                        throw FlowStorageError(.userCodeInUse, "user code collision")
                    }
                    try Sys.unlink(claim.entry)
                }
                // Fails only if a new live claim was linked since the unlink.
                guard try Sys.linkIfAbsent(file, claim.entry) else {
                    throw FlowStorageError(.userCodeInUse, "user code collision")
                }
            }
        }
        // A live flow created before the upgrade may hold the code in the old index.
        guard hasLegacyCodeIndex else { return }
        do {
            if let old = try Sys.readFile(legacyCodePath(record.userCodeKey)).flatMap(RecordCoding.decodeIndex),
               old.expiresAt >= record.createdAt {
                throw FlowStorageError(.userCodeInUse, "user code collision")
            }
        } catch {
            try? Sys.unlink(claim.entry)
            throw error
        }
    }

    /// Removes the claim at `path` if, read again under the claims lock, it is expired before
    /// `cutoff` and (when given) names `flowID`. Garbage collection only.
    func removeClaim(_ path: String, in dir: String, flowID: String?, expiredBefore cutoff: UnixTime) -> Bool {
        (try? withClaimsLock(dir) { () -> Bool in
            guard let claim = try readClaim(path), claim.expiresAt < cutoff, flowID == nil || claim.flowID == flowID else { return false }
            try Sys.unlink(path)
            return true
        }) ?? false
    }
}
