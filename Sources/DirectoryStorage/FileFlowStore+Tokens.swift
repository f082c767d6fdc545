#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Refresh-token families and access-token revocation, in the same state directory and with
/// the same rules: per-family flock, atomic durable writes, O(1) per request.
extension FileFlowStore {
    func familyPaths(_ id: String) -> (dir: String, record: String, lock: String) {
        let dir = directory.familiesShard(StateDirectory.shard(of: id))
        return (dir, "\(dir)/\(id).family", "\(dir)/\(id).lock")
    }

    private func refreshIndexPaths(_ hash: String) -> (dir: String, entry: String) {
        let dir = directory.refreshShard(StateDirectory.shard(of: hash))
        return (dir, "\(dir)/\(hash)")
    }

    private func writeRefreshIndex(_ hash: String, family: RefreshFamily) throws {
        let paths = refreshIndexPaths(hash)
        try Sys.atomicWrite(directory: paths.dir, name: hash, RecordCoding.encodeIndex(flowID: family.id, expiresAt: family.expiresAt),
                             modificationTime: ExpiryStamp.expiring(family.expiresAt))
    }

    /// The token index entry, then the subject's grant index entry (`GrantIndex`), then the
    /// family, each durable before the next: a crash leaves entries that point at nothing,
    /// never a family that its token or its person cannot find.
    public func createRefreshFamily(_ family: RefreshFamily) throws {
        precondition(Self.isHexKey(family.id) && Self.isHexKey(family.currentTokenHash))
        try writeRefreshIndex(family.currentTokenHash, family: family)
        let paths = familyPaths(family.id)
        try GrantIndex(directory: directory).appending(subject: family.subject, familyID: family.id, expiresAt: family.expiresAt) {
            try Sys.atomicWrite(directory: paths.dir, name: "\(family.id).family", RecordCoding.encode(family),
                                 modificationTime: ExpiryStamp.family(family, indexed: true))
        }
    }

    public func refreshFamilyID(forTokenHash hash: String) throws -> String? {
        guard Self.isHexKey(hash) else { return nil }
        return try Sys.readFile(refreshIndexPaths(hash).entry).flatMap(RecordCoding.decodeIndex)?.flowID
    }

    public func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
        guard Self.isHexKey(id) else { return try body(nil).result }
        let paths = familyPaths(id)
        let fd = try Sys.open(paths.lock, O_RDWR | O_CREAT)
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, paths.lock)
            let family = try Sys.readFile(paths.record).map { try RecordCoding.decodeFamily($0, path: paths.record) }
            // Whether the family's grant-index entry is known to exist (its stamp says so):
            // carried forward, so garbage collection still reads and heals those it is not.
            let indexed = family != nil && ExpiryStamp(Sys.stat(paths.record)?.st_mtim)?.tag == ExpiryStamp.indexedFamily
            let (updated, result) = try body(family)
            if let updated {
                precondition(updated.id == id, "a family update may not change its id")
                if updated.currentTokenHash != family?.currentTokenHash {
                    try writeRefreshIndex(updated.currentTokenHash, family: updated)
                }
                try Sys.atomicWrite(directory: paths.dir, name: "\(id).family", RecordCoding.encode(updated),
                                     modificationTime: ExpiryStamp.family(updated, indexed: indexed))
            }
            return result
        }
    }

    private func revokedPath(_ id: String) -> (dir: String, name: String) { directory.revokedPath(id) }

    public func revokeAccessToken(id: String, expiresAt: UnixTime) throws {
        let path = revokedPath(id)
        try Sys.atomicWrite(directory: path.dir, name: path.name, Array("\(expiresAt.milliseconds)\n".utf8),
                             modificationTime: ExpiryStamp.expiring(expiresAt))
    }

    public func isAccessTokenRevoked(id: String) throws -> Bool {
        let path = revokedPath(id)
        return Sys.stat("\(path.dir)/\(path.name)") != nil
    }

    /// Revokes everything `subject` holds from before `at`: access tokens issued, refresh
    /// families created and sessions signed in at or before it (`devicegate users remove`).
    ///
    /// One "not before" marker instead of an index by subject: a single atomic write, so a
    /// crash leaves the subject revoked or not, never half; and the checks that read it (the
    /// gateway, refresh, redemption, sessions) cost one open(2) that fails with ENOENT for
    /// everyone else. The marker lives beside the per-token revocations, under
    /// `revoked/<xx>/<sha256("subject " + sub)>` ("subject " cannot start a jti or a token
    /// hash), as "<keep until ms>\n<revoked ms>\n": garbage collection reads only the first
    /// line, so it removes the marker once nothing it covers can still be alive. A second
    /// removal moves both times forward, never back.
    public func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws {
        let path = directory.revokedPath(StateDirectory.subjectRevocationID(subject))
        var keep = keepUntil, revoked = at
        // An unreadable marker counts as revoked forever for the checks; its fail-closed
        // stand-in must not be written back, or one unreadable marker (say, written by root)
        // would make the next removal permanent. It is replaced.
        if case .valid(let previousKeep, let previousRevoked) = directory.subjectRevocationMarker(subject) {
            keep = max(keep, previousKeep)
            revoked = max(revoked, previousRevoked)
        }
        try Sys.atomicWrite(directory: path.dir, name: path.name, Array("\(keep.milliseconds)\n\(revoked.milliseconds)\n".utf8),
                             modificationTime: ExpiryStamp.expiring(keep))
    }

    public func subjectRevokedAt(_ subject: String) throws -> UnixTime? { directory.subjectRevocation(subject)?.revokedAt }
}

extension StateDirectory {
    func revokedPath(_ id: String) -> (dir: String, name: String) {
        let key = Encoding.sha256Hex(id)
        return (revokedShard(StateDirectory.shard(of: key)), key)
    }

    static func subjectRevocationID(_ subject: String) -> String { "subject " + subject }

    /// The subject's revocation marker, if any. A marker that exists but cannot be read or
    /// parsed counts as revoked now and forever (fail closed): the operator asked for it.
    func subjectRevocation(_ subject: String) -> (keepUntil: UnixTime, revokedAt: UnixTime)? {
        switch subjectRevocationMarker(subject) {
        case .none: return nil
        case .valid(let keep, let revoked): return (keep, revoked)
        case .unreadable: return (UnixTime(milliseconds: .max), UnixTime(milliseconds: .max))
        }
    }

    enum SubjectMarker: Equatable {
        case none
        case valid(keepUntil: UnixTime, revokedAt: UnixTime)
        /// It exists but cannot be read (EACCES, EIO) or parsed.
        case unreadable
    }

    func subjectRevocationMarker(_ subject: String) -> SubjectMarker {
        let path = revokedPath(Self.subjectRevocationID(subject))
        let file = "\(path.dir)/\(path.name)"
        let bytes: [UInt8]?
        do { bytes = try Sys.readFile(file, limit: 256) } catch { return .unreadable }
        guard let bytes else { return .none }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.count == 2, let keep = Int64(lines[0]), let revoked = Int64(lines[1]) else { return .unreadable }
        return .valid(keepUntil: UnixTime(milliseconds: keep), revokedAt: UnixTime(milliseconds: revoked))
    }
}
