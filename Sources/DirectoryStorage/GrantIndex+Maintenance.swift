#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Garbage collection of the grant index, and its first build from the families of a state
/// directory made before it existed.
extension GrantIndex {
    /// What `compact` did in one shard.
    struct Compaction: Equatable {
        var droppedEntries = 0
        var removedFiles = 0
        var busy = 0
        var temporaryFiles = 0
    }

    /// Compacts every index file of `dir` (one shard) under its lock, taken without waiting (a
    /// holder is appending: `busy`, tried again next pass). An entry is dropped when its family
    /// file is gone, or when the entry's expiry has passed and the family's own has too (or it
    /// no longer reads); torn lines and duplicates go too. A file left with no entries is removed, then its lock file. Lock files
    /// whose index is gone and temp files a crash left are removed too.
    func compact(shard dir: String, now: UnixTime, familyPath: (String) -> String) -> Compaction {
        var report = Compaction()
        guard let names = try? Sys.listDirectory(dir) else { return report }
        let present = Set(names)
        for name in names {
            let path = "\(dir)/\(name)"
            if name.hasPrefix(".tmp-") {
                if let st = Sys.stat(path), Int64(st.st_mtim.tv_sec) < now.seconds - 600 {
                    try? Sys.unlink(path)
                    report.temporaryFiles += 1
                }
                continue
            }
            let key = name.hasSuffix(".lock") ? String(name.dropLast(5)) : name
            guard FileFlowStore.isHexKey(key), name == key || !present.contains(key) else { continue }
            let lock = "\(dir)/\(key).lock", entriesPath = "\(dir)/\(key)"
            let done = try? Self.holdingLock(lock, wait: false) { () -> Void in
                let bytes = (try? Sys.readFile(entriesPath, limit: 16 << 20)) ?? nil
                let entries = bytes.map(Self.entries) ?? []
                let kept = entries.filter { isLive($0, now: now, familyPath: familyPath) }
                report.droppedEntries += entries.count - kept.count
                if kept.isEmpty {
                    try? Sys.unlink(entriesPath)
                    if bytes != nil { report.removedFiles += 1 }
                    try? Sys.unlink(lock)
                } else {
                    // Rewritten when anything goes: an entry, a torn line, a duplicate.
                    let text = kept.flatMap { RecordCoding.encodeIndex(flowID: $0.familyID, expiresAt: $0.expiresAt) }
                    if text != bytes { try? Sys.atomicWrite(directory: dir, name: key, text) }
                }
            }
            if done == nil { report.busy += 1 }
        }
        return report
    }

    private func isLive(_ entry: (familyID: String, expiresAt: UnixTime), now: UnixTime, familyPath: (String) -> String) -> Bool {
        let path = familyPath(entry.familyID)
        guard Sys.stat(path) != nil else { return false }
        guard entry.expiresAt < now else { return true }
        guard let bytes = try? Sys.readFile(path), let family = try? RecordCoding.decodeFamily(bytes, path: path) else { return false }
        return family.expiresAt >= now
    }

    /// Indexes every readable family of the state directory (its first start with the grant
    /// index, `StateDirectory.prepare`). Appending again what is indexed already is harmless:
    /// readers and compaction keep the first entry of each family.
    func indexExistingFamilies() throws {
        for index in 0..<StateDirectory.shardCount {
            let dir = directory.familiesShard(StateDirectory.shardName(index))
            for name in (try? Sys.listDirectory(dir)) ?? [] where name.hasSuffix(".family") {
                let path = "\(dir)/\(name)"
                guard let bytes = try? Sys.readFile(path), let family = try? RecordCoding.decodeFamily(bytes, path: path) else { continue }
                try appending(subject: family.subject, familyID: family.id, expiresAt: family.expiresAt) {}
            }
        }
    }
}
