#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Entries for families written without one: by a version before the grant index, whose
/// directory gets them all at its first start (`indexExistingFamilies`), and by its workers
/// if they still run beside a newer binary, whose families garbage collection adds one by
/// one (`ensureIndexed`).
extension GrantIndex {
    /// Adds `family` to its subject's index unless it is there, under the index lock and as
    /// durably as `appending`. `known` caches, for one pass, the ids each subject's index held
    /// when first read (lock-free); only a family missing from it is checked again under the
    /// lock. Returns whether an entry was appended. Throws when the index cannot be read.
    func ensureIndexed(_ family: RefreshFamily, known: inout [String: Set<String>]) throws -> Bool {
        if known[family.subject] == nil { known[family.subject] = Set(try familyIDs(subject: family.subject)) }
        guard known[family.subject]?.contains(family.id) == false else { return false }
        let paths = paths(subject: family.subject)
        let appended = try Self.holdingLock(paths.lock, wait: true) { () -> Bool in
            if let bytes = try Self.read(paths.entries), Self.entries(bytes).contains(where: { $0.familyID == family.id }) { return false }
            try Self.append(familyID: family.id, expiresAt: family.expiresAt, to: paths)
            return true
        }
        known[family.subject]?.insert(family.id)
        return appended ?? false
    }

    /// Indexes every readable family of the state directory (its first start with the grant
    /// index, `StateDirectory.prepare`), at the cost of a listing, not of a sync per family:
    /// the families are grouped by subject in memory, and each subject's index is written
    /// once, whole (a temp file renamed into place under the index lock, never over the lock
    /// file), holding what it held before (appends of newer workers, or of a build cut short)
    /// and then the families it lacked, oldest first, so a build run again adds no duplicate.
    /// New files are made durable together by one syncfs(2) and an fsync of each shard they
    /// went into; a temp file replacing an index that held entries is fsynced before the
    /// rename, so a crash never swaps durable entries for unwritten ones. A family that
    /// cannot be read is left to garbage collection, which adds it when it can
    /// (`ensureIndexed`).
    func indexExistingFamilies() throws {
        // Only what an entry needs, so that half a million families fit in memory easily.
        var bySubject: [String: [(id: String, createdAt: UnixTime, expiresAt: UnixTime)]] = [:]
        for index in 0..<StateDirectory.shardCount {
            let dir = directory.familiesShard(StateDirectory.shardName(index))
            for name in (try? Sys.listDirectory(dir)) ?? [] where name.hasSuffix(".family") {
                let path = "\(dir)/\(name)"
                guard let bytes = try? Sys.readFile(path), let family = try? RecordCoding.decodeFamily(bytes, path: path) else { continue }
                bySubject[family.subject, default: []].append((family.id, family.createdAt, family.expiresAt))
            }
        }
        var shardsWritten = Set<String>()
        for (subject, families) in bySubject {
            let paths = paths(subject: subject)
            let wrote = try Self.holdingLock(paths.lock, wait: true) { () -> Bool in
                let existing = try Self.read(paths.entries) ?? []
                let present = Self.entries(existing)
                let known = Set(present.map(\.familyID))
                let missing = families.filter { !known.contains($0.id) }
                    .sorted { $0.createdAt == $1.createdAt ? $0.id < $1.id : $0.createdAt < $1.createdAt }
                    .map { (familyID: $0.id, expiresAt: $0.expiresAt) }
                guard !missing.isEmpty else { return false }
                let text = (present + missing).flatMap { RecordCoding.encodeIndex(flowID: $0.familyID, expiresAt: $0.expiresAt) }
                let temp = try Sys.writeTemp(directory: paths.dir, text, sync: !present.isEmpty)
                do { try Sys.rename(temp, paths.entries) } catch {
                    try? Sys.unlink(temp)
                    throw error
                }
                return true
            }
            if wrote == true { shardsWritten.insert(paths.dir) }
        }
        guard !shardsWritten.isEmpty else { return }
        try Sys.syncFilesystem(directory.root)
        for dir in shardsWritten.sorted() { try Sys.fsyncDirectory(dir) }
    }
}
