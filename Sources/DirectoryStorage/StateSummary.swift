#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// What `devicegate status` prints: a walk of the whole state directory (an operator command,
/// never on a request path).
public struct StateSummary: Sendable, CustomStringConvertible {
    /// Flows by state, counted as the metrics' census counts them.
    public var flows = FlowCensus()
    public var unreadable = 0
    public var accessTokens = 0, refreshFamilies = 0, revocations = 0
    /// Authorization-code records, redeemed or not, until garbage collection removes them.
    public var authorizationCodes = 0
    /// Lock files some process holds right now (tried with LOCK_NB).
    public var locksHeld = 0
    public var files = 0
    public var bytesOnDisk: Int64 = 0

    public var description: String {
        """
        flows        pending \(flows.pending), approved \(flows.approved), denied \(flows.denied), redeemed \(flows.redeemed), expired \(flows.expired)\(unreadable > 0 ? ", UNREADABLE \(unreadable)" : "")
        tokens       access \(accessTokens), refresh families \(refreshFamilies), revoked \(revocations)
        codes        authorization \(authorizationCodes)
        locks held   \(locksHeld)
        disk         \(files) files, \(bytesOnDisk / 1024) KiB allocated
        """
    }
}

extension FileFlowStore {
    public func summary(now: UnixTime) -> StateSummary {
        var s = StateSummary()
        func walk(_ kind: String, _ visit: (String, String) -> Void) {
            for i in 0..<StateDirectory.shardCount {
                let dir = "\(directory.root)/\(kind)/\(StateDirectory.shardName(i))"
                for name in (try? Sys.listDirectory(dir)) ?? [] {
                    let path = "\(dir)/\(name)"
                    if let st = Sys.stat(path) { s.files += 1; s.bytesOnDisk += Int64(st.st_blocks) * 512 }
                    visit(name, path)
                }
            }
        }
        func probeLock(_ path: String) {
            guard let fd = try? Sys.open(path, O_RDWR) else { return }
            Sys.closeAfter(fd) { fd in
                if (try? Sys.lockExclusive(fd, path, wait: false)) == false { s.locksHeld += 1 }
            }
        }
        walk("flows") { name, path in
            if name == FlowLockTable.name {
                // Any byte of the lock table held by another process counts as one lock held.
                if let fd = try? Sys.open(path, O_RDWR) {
                    Sys.closeAfter(fd) { fd in if Sys.anyRangeLocked(fd) { s.locksHeld += 1 } }
                }
                return
            }
            if name.hasSuffix(".lock") { probeLock(path); return }
            guard name.hasSuffix(".flow") else { return }
            guard let record = readFlowRecord(path) else { s.unreadable += 1; return }
            s.flows.count(record, now: now)
        }
        walk("codes") { _, _ in }
        walk("tokens") { name, _ in if name.hasSuffix(".token") { s.accessTokens += 1 } }
        walk("refresh") { _, _ in }
        walk("families") { name, path in
            if name.hasSuffix(".lock") { probeLock(path) } else if name.hasSuffix(".family") { s.refreshFamilies += 1 }
        }
        walk("revoked") { _, _ in s.revocations += 1 }
        walk("authcodes") { name, path in
            if name.hasSuffix(".lock") { probeLock(path) } else if name.hasSuffix(".authcode") { s.authorizationCodes += 1 }
        }
        return s
    }
}
