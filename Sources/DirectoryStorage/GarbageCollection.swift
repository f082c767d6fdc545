#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

extension FileFlowStore {
    /// Removes what has expired, one shard at a time so the cost of a pass is bounded and no
    /// request ever scans a directory. A flow is removed `retentionSeconds` after it expired
    /// (until then a late poll still gets `expired_token`), under its lock (`FlowLockTable`)
    /// taken without waiting, claim first, then the record, then its soft-state slot.
    public func collectGarbage(now: UnixTime, retentionSeconds: Int, shards: some Sequence<Int>) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        let cutoff = now.adding(seconds: -Int64(retentionSeconds))
        for index in shards {
            let shard = StateDirectory.shardName(index % StateDirectory.shardCount)
            report += collectFlows(directory.flowsShard(shard), now: now, cutoff: cutoff, retentionSeconds: retentionSeconds)
            if hasLegacyCodeIndex {
                // The user-code index of earlier versions: emptied as its flows expire, then removed.
                report += collectCodes(directory.codesShard(shard), now: now, cutoff: cutoff)
                Sys.removeDirectoryIfEmpty(directory.codesShard(shard))
                Sys.removeDirectoryIfEmpty(directory.codesRoot)
            }
            report += collectTokens(directory.tokensShard(shard), now: now)
            // Refresh index entries share the user-code index format: "<family id> <expires ms>".
            report += collectCodes(directory.refreshShard(shard), now: now, cutoff: now)
            report += collectFamilies(directory.familiesShard(shard), now: now)
            // After the families, so that a family collected now loses its entry in the same pass.
            let grants = GrantIndex(directory: directory).compact(shard: directory.grantsShard(shard), now: now) { familyPaths($0).record }
            report.grantEntries += grants.droppedEntries
            report.busy += grants.busy
            report.temporaryFiles += grants.temporaryFiles
            for error in grants.errors { report.recordError(error) }
            report += collectRevocations(directory.revokedShard(shard), now: now)
            report += collectAuthorizationCodes(directory.authorizationCodesShard(shard), now: now)
        }
        return report
    }

    /// Whether an mtime the shard listing read (lock files are never stamped, so it is the
    /// last write) is more than `seconds` old; false for a name that could not be statted.
    private func modifiedBefore(_ modified: timespec?, _ seconds: Int64, now: UnixTime) -> Bool {
        guard let modified else { return false }
        return Int64(modified.tv_sec) < now.seconds - seconds
    }

    /// Whether an entry listed with `modified` may be collectable before `threshold`: false only
    /// when its expiry stamp says it is not (`ExpiryStamp`); an entry without a stamp is read.
    private func due(_ modified: timespec?, before threshold: UnixTime) -> Bool {
        guard let stamp = ExpiryStamp(modified) else { return true }
        return stamp.expiresAt < threshold
    }

    /// Temp files a crash left behind (older than ten minutes; a live write takes microseconds).
    /// Their age is the inode's change time: the mtime may be an expiry stamp in the future.
    private func sweepTemp(_ dir: String, _ name: String, now: UnixTime, into report: inout GarbageCollectionReport) -> Bool {
        guard name.hasPrefix(".tmp-") else { return false }
        if let st = Sys.stat("\(dir)/\(name)"), Int64(st.st_ctim.tv_sec) < now.seconds - 600 {
            try? Sys.unlink("\(dir)/\(name)")
            report.temporaryFiles += 1
        }
        return true
    }

    private func collectFlows(_ dir: String, now: UnixTime, cutoff: UnixTime, retentionSeconds: Int) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        for (name, modified) in entries {
            if sweepTemp(dir, name, now: now, into: &report) { continue }
            if name.hasSuffix(Self.legacyLockSuffix) {
                // An earlier version's lock file (locks are in `FlowLockTable` now): nothing
                // reads it; gone once it is idle for ten minutes.
                if modifiedBefore(modified, 600, now: now) {
                    try? Sys.unlink("\(dir)/\(name)")
                    report.orphanLocks += 1
                }
                continue
            }
            if name.hasSuffix(".code") {
                // Claims whose flow is gone (a crash before the record was renamed into place,
                // or a flow collected from another shard), kept as long as a flow would be.
                if due(modified, before: cutoff), let claim = try? readClaim("\(dir)/\(name)"), claim.expiresAt < cutoff,
                   removeClaim("\(dir)/\(name)", in: dir, flowID: nil, expiredBefore: cutoff) {
                    report.codes += 1
                }
                continue
            }
            guard name.hasSuffix(".flow") else { continue }
            let id = String(name.dropLast(5))
            let recordPath = "\(dir)/\(name)"
            // Not due by its stamp: counted from the stamp, not read.
            if !due(modified, before: cutoff), let stamp = ExpiryStamp(modified), report.census.count(stamp, now: now) { continue }
            guard let record = readFlowRecord(recordPath) else {
                report.unreadable += 1
                continue
            }
            guard record.expiresAt < cutoff else {
                report.census.count(record, now: now)
                continue
            }
            let removed = try? locks.withLock(id: id, wait: false) { bucket -> Void in
                let claim = claimPaths(record.userCodeKey)
                if removeClaim(claim.entry, in: claim.dir, flowID: id, expiredBefore: cutoff) { report.codes += 1 }
                let legacyPath = legacyCodePath(record.userCodeKey)
                if hasLegacyCodeIndex, let entry = try? Sys.readFile(legacyPath).flatMap(RecordCoding.decodeIndex), entry.flowID == id {
                    try? Sys.unlink(legacyPath)
                    report.codes += 1
                }
                try? Sys.unlink(recordPath)
                try? bucket.forget()
                report.flows += 1
            }
            if removed == nil {
                report.busy += 1
                report.census.count(record, now: now)
            }
        }
        return report
    }

    /// User-code entries whose flow is gone or long expired.
    private func collectCodes(_ dir: String, now: UnixTime, cutoff: UnixTime) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        for (name, modified) in entries {
            if sweepTemp(dir, name, now: now, into: &report) { continue }
            guard due(modified, before: cutoff) else { continue }
            let path = "\(dir)/\(name)"
            guard let entry = try? Sys.readFile(path).flatMap(RecordCoding.decodeIndex) else { continue }
            if entry.expiresAt < cutoff {
                try? Sys.unlink(path)
                report.codes += 1
            }
        }
        return report
    }

    /// Expired families go; a live one missing from its subject's grant index (written by a
    /// worker of a version before the index, perhaps still running beside this one) is added
    /// to it, so the index heals itself within one pass over every shard.
    private func collectFamilies(_ dir: String, now: UnixTime) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        let index = GrantIndex(directory: directory)
        var indexed: [String: Set<String>] = [:]
        for (name, modified) in entries where name.hasSuffix(".family") {
            // Not due, and its stamp says its grant-index entry was written before it: nothing
            // to remove or heal. Families without that stamp are read (and healed) as before.
            if !due(modified, before: now), ExpiryStamp(modified)?.tag == ExpiryStamp.indexedFamily { continue }
            let id = String(name.dropLast(7))
            let recordPath = "\(dir)/\(name)", lockPath = "\(dir)/\(id).lock"
            guard let bytes = try? Sys.readFile(recordPath), let family = try? RecordCoding.decodeFamily(bytes, path: recordPath) else {
                report.unreadable += 1
                continue
            }
            guard family.expiresAt < now else {
                do {
                    if try index.ensureIndexed(family, known: &indexed) { report.grantEntriesAdded += 1 }
                } catch {
                    report.recordError("\(error)")
                }
                continue
            }
            removeUnderLock(recordPath, lockPath, counting: \.tokens, into: &report)
        }
        for (name, _) in entries { _ = sweepTemp(dir, name, now: now, into: &report) }
        return report
    }

    /// Codes whose `collectableAt` has passed (until then a replay still finds the record and
    /// revokes what it produced), under their lock taken without waiting, record first and
    /// lock file last; lock files whose record is gone, once an hour old (a crash between
    /// the two writes of `createAuthorizationCode`).
    private func collectAuthorizationCodes(_ dir: String, now: UnixTime) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        let present = Set(entries.lazy.map(\.name))
        for (name, modified) in entries {
            if sweepTemp(dir, name, now: now, into: &report) { continue }
            if name.hasSuffix(".lock") {
                if !present.contains("\(name.dropLast(5)).authcode") && modifiedBefore(modified, 3600, now: now) {
                    try? Sys.unlink("\(dir)/\(name)")
                    report.orphanLocks += 1
                }
                continue
            }
            guard name.hasSuffix(".authcode"), due(modified, before: now) else { continue }
            let recordPath = "\(dir)/\(name)", lockPath = "\(dir)/\(name.dropLast(9)).lock"
            guard let bytes = try? Sys.readFile(recordPath), let code = try? RecordCoding.decodeAuthorizationCode(bytes, path: recordPath) else {
                report.unreadable += 1
                continue
            }
            guard code.collectableAt < now else { continue }
            removeUnderLock(recordPath, lockPath, counting: \.authorizationCodes, into: &report)
        }
        return report
    }

    /// Removes a record and its lock file under the lock, taken without waiting (a holder is
    /// using it: `busy`, tried again next pass); the record first, so a crash in between
    /// leaves only a lock file.
    private func removeUnderLock(_ recordPath: String, _ lockPath: String, counting kind: WritableKeyPath<GarbageCollectionReport, Int>,
                                 into report: inout GarbageCollectionReport) {
        guard let fd = try? Sys.open(lockPath, O_RDWR | O_CREAT) else { return }
        Sys.closeAfter(fd) { fd in
            guard (try? Sys.lockExclusive(fd, lockPath, wait: false)) == true else { report.busy += 1; return }
            try? Sys.unlink(recordPath)
            try? Sys.unlink(lockPath)
            report[keyPath: kind] += 1
        }
    }

    private func collectRevocations(_ dir: String, now: UnixTime) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        for (name, modified) in entries {
            if sweepTemp(dir, name, now: now, into: &report) { continue }
            guard due(modified, before: now) else { continue }
            let path = "\(dir)/\(name)"
            guard let bytes = try? Sys.readFile(path),
                  let ms = Int64(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? "") else { continue }
            if ms < now.milliseconds {
                try? Sys.unlink(path)
                report.tokens += 1
            }
        }
        return report
    }

    private func collectTokens(_ dir: String, now: UnixTime) -> GarbageCollectionReport {
        var report = GarbageCollectionReport()
        guard let entries = try? Sys.listDirectoryWithModificationTimes(dir) else { return report }
        for (name, modified) in entries {
            if sweepTemp(dir, name, now: now, into: &report) { continue }
            guard due(modified, before: now) else { continue }
            let path = "\(dir)/\(name)"
            guard let bytes = try? Sys.readFile(path), let token = try? RecordCoding.decodeToken(bytes, path: path) else { continue }
            if token.expiresAt < now {
                try? Sys.unlink(path)
                report.tokens += 1
            }
        }
        return report
    }
}

extension FileFlowStore: ExpiredStateCollecting {
    /// One pass over every shard (`devicegate gc`; the worker's tick visits a few at a time).
    @discardableResult
    public func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int {
        let report = collectGarbage(now: now, retentionSeconds: retentionSeconds, shards: 0..<StateDirectory.shardCount)
        return report.flows + report.codes + report.tokens + report.authorizationCodes
    }
}
