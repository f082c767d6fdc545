#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// What `devicegate storage copy` reads from a state directory to carry it to another
/// backend: the names of what is stored (each then read through the store's own API, under
/// its lock), and the two install secrets. Reads only; nothing here changes the directory.
///
/// Authorization codes (`authcodes/`) are not exported: a code lives
/// `AuthorizationCodes.lifetime` (60 s), so one issued before the copy is redeemed on the old
/// host or not at all, and the client starts a new authorization request.
extension StateDirectory {
    /// Ids of the flows on disk (`flows/<xx>/<id>.flow`).
    public func exportedFlowIDs() throws -> [String] { try names(in: { flowsShard($0) }, suffix: ".flow") }

    /// Ids of the refresh-token families (`families/<xx>/<id>.family`).
    public func exportedRefreshFamilyIDs() throws -> [String] { try names(in: { familiesShard($0) }, suffix: ".family") }

    /// Hashes in the refresh-token index (`refresh/<xx>/<hash>`): every token a family had,
    /// current or rotated away; `FileFlowStore.refreshFamilyID(forTokenHash:)` says whose.
    public func exportedRefreshTokenHashes() throws -> [String] { try names(in: { refreshShard($0) }, suffix: "") }

    /// Hashes of the stored access tokens (`tokens/<xx>/<hash>.token`).
    public func exportedAccessTokenHashes() throws -> [String] { try names(in: { tokensShard($0) }, suffix: ".token") }

    /// Hashes of the verification page's sessions (`sessions/<xx>/<hash>.session`).
    public func exportedSessionHashes() throws -> [String] { try names(in: { sessionsShard($0) }, suffix: ".session") }

    /// The subject revocation of `subject` with how long it must be kept, if any (the store's
    /// `subjectRevokedAt` gives only its time). Stored under a hash of the subject, so the
    /// caller names the subjects to ask about.
    public func exportedSubjectRevocation(_ subject: String) -> (revokedAt: UnixTime, keepUntil: UnixTime)? {
        subjectRevocation(subject).map { ($0.revokedAt, $0.keepUntil) }
    }

    /// The 32-byte pepper of the user-code index: the same pepper elsewhere keeps live user
    /// codes (and their claims' keys) valid.
    public func exportedPepper() throws -> [UInt8] { try loadPepper() }

    /// The 32-byte web secret that signs CSRF tokens and session cookies' bindings.
    public func exportedWebSecret() throws -> [UInt8] { try loadWebSecret() }

    private func names(in shardPath: (String) -> String, suffix: String) throws -> [String] {
        var out: [String] = []
        for index in 0..<Self.shardCount {
            let dir = shardPath(Self.shardName(index))
            let entries: [String]
            do { entries = try Sys.listDirectory(dir) } catch let error as FlowStorageError where error.errno == ENOENT { continue }
            for name in entries where FileFlowStore.isHexKey(suffix.isEmpty ? name : String(name.dropLast(suffix.count))) && name.hasSuffix(suffix) {
                out.append(suffix.isEmpty ? name : String(name.dropLast(suffix.count)))
            }
        }
        return out.sorted()
    }
}
