#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// Garbage collection of the grant index.
extension GrantIndex {
    /// What `compact` did in one shard.
    struct Compaction: Equatable {
        var droppedEntries = 0
        var removedFiles = 0
        var busy = 0
        var temporaryFiles = 0
        /// What could not be read or written: each left a file, or an entry, as it was.
        var errors: [String] = []
    }

    /// Compacts every index file of `dir` (one shard) under its lock, taken without waiting (a
    /// holder is appending: `busy`, tried again next pass). An entry is dropped only when its
    /// family is known gone (open(2) says ENOENT), or when the entry's expiry has passed and
    /// the family's own has too; torn lines and duplicates go too. A family that cannot be
    /// checked (EIO, EMFILE, EACCES, a record that does not parse) keeps its entry, and an
    /// index that cannot be read, or is over `sizeLimit`, is left as it is this pass: both
    /// are counted in `errors`, never taken for absence. A file left with no entries is
    /// removed, then its lock file. Lock files whose index is gone and temp files a crash
    /// left are removed too.
    func compact(shard dir: String, now: UnixTime, familyPath: (String) -> String) -> Compaction {
        var report = Compaction()
        let names: [String]
        do { names = try Sys.listDirectory(dir) } catch {
            report.errors.append("\(error)")
            return report
        }
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
            do {
                let done: Void? = try Self.holdingLock("\(dir)/\(key).lock", wait: false) {
                    try compactFile(dir: dir, key: key, now: now, familyPath: familyPath, into: &report)
                }
                if done == nil { report.busy += 1 }
            } catch {
                report.errors.append("\(error)")
            }
        }
        return report
    }

    /// Compacts `dir/key`, whose lock the caller holds. Throws, having changed nothing, when
    /// the index cannot be read; counts in `report` only what it did.
    private func compactFile(dir: String, key: String, now: UnixTime, familyPath: (String) -> String, into report: inout Compaction) throws {
        let entriesPath = "\(dir)/\(key)"
        let bytes = try Self.read(entriesPath)
        let entries = bytes.map(Self.entries) ?? []
        var kept: [(familyID: String, expiresAt: UnixTime)] = []
        for entry in entries {
            switch familyState(entry, now: now, familyPath: familyPath) {
            case .live: kept.append(entry)
            case .gone: break
            case .unknown(let error):
                kept.append(entry)
                report.errors.append(error)
            }
        }
        if kept.isEmpty {
            try Sys.unlink(entriesPath)
            try Sys.unlink("\(dir)/\(key).lock")
            if bytes != nil { report.removedFiles += 1 }
        } else {
            // Rewritten when anything goes: an entry, a torn line, a duplicate.
            let text = kept.flatMap { RecordCoding.encodeIndex(flowID: $0.familyID, expiresAt: $0.expiresAt) }
            if text != bytes { try Sys.atomicWrite(directory: dir, name: key, text) }
        }
        report.droppedEntries += entries.count - kept.count
    }

    /// Whether an entry's family still counts, as far as compaction may know.
    private enum FamilyState {
        case live
        /// The family file does not exist (ENOENT), or it and the entry have both expired.
        case gone
        /// It could not be told: the entry stays.
        case unknown(String)
    }

    private func familyState(_ entry: (familyID: String, expiresAt: UnixTime), now: UnixTime, familyPath: (String) -> String) -> FamilyState {
        let path = familyPath(entry.familyID)
        do {
            guard let fd = try Sys.openIfExists(path, O_RDONLY) else { return .gone }
            return try Sys.closeAfter(fd) { fd in
                guard entry.expiresAt < now else { return .live }
                let family = try RecordCoding.decodeFamily(try Sys.readAll(fd, path), path: path)
                return family.expiresAt >= now ? .live : .gone
            }
        } catch {
            return .unknown("\(error)")
        }
    }
}
