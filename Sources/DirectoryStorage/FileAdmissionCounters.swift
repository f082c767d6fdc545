#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// `FlowAdmissionCounters` over the state directory: one 256-byte file per key,
/// `admission/<xx>/<sha256 of key>`, holding its `ExpiryBuckets` (16 × end seconds, count;
/// little-endian), read and rewritten in place under flock(2) on the same file, which is never
/// renamed over.
///
/// Soft state, like the failure counters: not fsynced, so a power cut forgets the counts of
/// the last few seconds, never more; a SIGKILL loses nothing (the kernel drops the lock, the
/// page cache keeps the bytes). The counts never need repair: they are functions of time
/// (see `ExpiryBuckets`). A file whose buckets have all ended is removed by garbage
/// collection under its lock, taken without waiting; an admission that locked it before the
/// removal notices (`st_nlink == 0`) and starts again.
public final class FileAdmissionCounters: FlowAdmissionCounters {
    public let directory: StateDirectory
    static let fileSize = ExpiryBuckets.slotCount * 16

    public init(directory: StateDirectory) { self.directory = directory }

    func path(_ name: String) -> (dir: String, file: String) {
        let hash = Encoding.sha256Hex(name)
        let dir = directory.admissionShard(StateDirectory.shard(of: hash))
        return (dir, "\(dir)/\(hash)")
    }

    public func admit(_ keys: [AdmissionKey], expiresAt: UnixTime, lifetimeSeconds: Int, now: UnixTime) throws -> AdmissionRefusal? {
        let width = ExpiryBuckets.width(lifetime: Int64(lifetimeSeconds))
        while true {
            var fds: [(fd: Int32, path: String)] = []
            defer { for f in fds { Sys.close(f.fd) } }
            var unlinked = false
            // Locks in the keys' order (address, then client): the same in every worker.
            for key in keys {
                let p = path(key.name)
                try directory.ensureShard(p.dir)
                let fd = try Sys.open(p.file, O_RDWR | O_CREAT)
                fds.append((fd, p.file))
                _ = try Sys.lockExclusive(fd, p.file)
                if try Sys.fstat(fd, p.file).st_nlink == 0 { unlinked = true; break }
            }
            if unlinked { continue }
            var buckets: [ExpiryBuckets] = []
            for (key, f) in zip(keys, fds) {
                let b = Self.decode(try Sys.pread(f.fd, f.path, count: Self.fileSize, offset: 0))
                if let refusal = key.refusal(b, now: now) { return refusal }
                buckets.append(b)
            }
            let before = buckets
            for (i, f) in fds.enumerated() {
                buckets[i].add(expiresAt: expiresAt, width: width, now: now)
                do {
                    try Sys.pwriteAll(f.fd, f.path, Self.encode(buckets[i]), offset: 0)
                } catch {
                    // A refused flow counts under no key: put back what this call wrote (in
                    // place, into blocks it has just written, so a full disk does not refuse it).
                    for (j, g) in fds.enumerated().prefix(i) { try? Sys.pwriteAll(g.fd, g.path, Self.encode(before[j]), offset: 0) }
                    throw error
                }
            }
            return nil
        }
    }

    /// The live count under a key (for tests and `devicegate status`).
    public func live(_ name: String, now: UnixTime) throws -> Int64 {
        let p = path(name)
        guard let fd = try Sys.openIfExists(p.file, O_RDONLY) else { return 0 }
        return try Sys.closeAfter(fd) { fd in
            try Sys.lockShared(fd, p.file)
            return Self.decode(try Sys.pread(fd, p.file, count: Self.fileSize, offset: 0)).live(now: now)
        }
    }

    static func encode(_ buckets: ExpiryBuckets) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fileSize)
        for slot in buckets.slots {
            for value in [slot.end, slot.count] {
                withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// A short or empty file (new, or torn by a crash mid-write) reads as empty slots.
    static func decode(_ bytes: [UInt8]) -> ExpiryBuckets {
        guard bytes.count == fileSize else { return ExpiryBuckets() }
        func word(_ i: Int) -> Int64 {
            var v: Int64 = 0
            for b in 0..<8 { v |= Int64(bytes[i * 8 + b]) << (8 * b) }
            return v
        }
        return ExpiryBuckets(slots: (0..<ExpiryBuckets.slotCount).map { .init(end: word(2 * $0), count: word(2 * $0 + 1)) })
    }

    /// Removes counters whose buckets have all ended, one shard at a time.
    public func collectGarbage(now: UnixTime, shards: some Sequence<Int>) -> Int {
        var removed = 0
        for index in shards {
            let dir = directory.admissionShard(StateDirectory.shardName(index % StateDirectory.shardCount))
            for name in (try? Sys.listDirectory(dir)) ?? [] {
                let file = "\(dir)/\(name)"
                guard let fd = try? Sys.openIfExists(file, O_RDWR) else { continue }
                Sys.closeAfter(fd) { fd in
                    guard (try? Sys.lockExclusive(fd, file, wait: false)) == true,
                          let bytes = try? Sys.pread(fd, file, count: Self.fileSize, offset: 0) else { return }
                    if Self.decode(bytes).live(now: now) == 0 {
                        try? Sys.unlink(file)
                        removed += 1
                    }
                }
            }
        }
        return removed
    }
}
