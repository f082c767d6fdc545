#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// The locks and the soft polling state of flows: one table file per shard,
/// `flows/<xx>/polls`, instead of a lock file per flow.
///
/// A flow's exclusive lock is an OFD byte-range lock (`Sys.lockRange`) on its bucket: 1 KiB
/// of the table chosen by the flow id. Its slot in that bucket holds its soft state (RFC 8628
/// §3.5: when it was last polled, the interval `slow_down` has grown to) and, while the flow
/// is pending, what a poll needs to answer without reading the record: its expiry and a
/// digest of the client it was issued to (`PendingFlow`). So a new flow creates no file
/// besides its record, and a poll of a pending flow is a lock, one `pread`, one `pwrite` and
/// an unlock: no lock file, no record read, no disk read even for a flow never polled.
///
/// ```
/// header  = at offset 0: "devicegate-polls 1\n", the kernel's boot id, the file's st_dev
///           and st_ino (UInt64 LE each)
/// bucket  = 16 slots of 64 bytes, bucket b of a shard at offset 4096 + b * 1024; 512 buckets
/// slot    = tag (bytes 1...16 of the flow id) | client digest (16 bytes of SHA-256) |
///           last poll ms (Int64 LE, 0 = never) | expiry ms (Int64 LE) | interval s (UInt32) |
///           flags (UInt32: 1 = pending) | FNV-1a 32 of bytes 0..<56, xor 0x5EED5EED | 4 zero
/// ```
/// The table is sparse: pages exist only for buckets that were written, at most 516 KiB a
/// shard (129 MiB for the directory, for 2M slots). A full bucket gives a newcomer the slot
/// of an ended flow, else of the pending flow that expires first.
///
/// What a slot may be, since nothing here is fsynced: lost (an evicted slot, a torn or
/// zeroed one, which the checksum rejects) or, after a power cut, stale. Losing it costs at
/// most one poll answered `authorization_pending` where `slow_down` was due, and the next
/// poll reads the record. A stale "pending" would be worse (an approval the device never
/// sees), so the table is only trusted within one boot of the kernel and in the file it was
/// written in: a process opening a table whose header names another boot id (a power cut or
/// reboot since it was written) or another inode (a copy) empties it first, under the
/// header's lock. Within one boot the page cache is the table,
/// whatever process dies. Every write of a flow's record first clears the slot's pending
/// flag (`Bucket.recordWillChange`), under the same lock, so a record that is no longer
/// pending is never answered as pending, even by a process killed between the two writes.
///
/// Exclusion is per bucket: two flows in one bucket (1 in 131,072 pairs) wait for each other
/// for the length of a decision. Within one process, a mutex per shard stands in for the OFD
/// lock between threads sharing the table's descriptor.
final class FlowLockTable {
    static let bucketsPerShard = 512
    static let slotsPerBucket = 16
    static let slotSize = 64
    static let bucketSize = slotsPerBucket * slotSize
    static let headerSize = 4096
    static let tagSize = 16
    static let name = "polls"
    static let magic = Array("devicegate-polls 1\n".utf8)

    let directory: StateDirectory
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`); nil where it cannot be read,
    /// and then no pending flow is ever answered from the table (soft poll state still is).
    let bootID: [UInt8]?
    /// The table descriptor of each shard, -1 until first used; opened under the shard's mutex.
    private let descriptors: UnsafeMutablePointer<Int32>
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>

    init(directory: StateDirectory, bootID: [UInt8]? = FlowLockTable.currentBootID()) {
        self.directory = directory
        self.bootID = bootID
        descriptors = .allocate(capacity: StateDirectory.shardCount)
        descriptors.initialize(repeating: -1, count: StateDirectory.shardCount)
        mutexes = .allocate(capacity: StateDirectory.shardCount)
        for i in 0..<StateDirectory.shardCount { pthread_mutex_init(mutexes + i, nil) }
    }

    deinit {
        for i in 0..<StateDirectory.shardCount {
            if descriptors[i] >= 0 { Sys.close(descriptors[i]) }
            pthread_mutex_destroy(mutexes + i)
        }
        descriptors.deallocate()
        mutexes.deallocate()
    }

    static func currentBootID() -> [UInt8]? {
        guard let bytes = try? Sys.readFile("/proc/sys/kernel/random/boot_id"), bytes.count >= 36 else { return nil }
        return Array(bytes.prefix(36))
    }

    func path(shard: Int) -> String { "\(directory.flowsShard(StateDirectory.shardName(shard)))/\(Self.name)" }

    /// Where a flow id (64 lowercase hex) lives: its shard, bucket and tag.
    static func place(of id: String) -> (shard: Int, bucket: Int, tag: [UInt8])? {
        guard let bytes = Encoding.bytes(fromHex: String(id.prefix(2 + 2 * tagSize))), bytes.count == 1 + tagSize else { return nil }
        let bucket = (Int(bytes[1]) << 8 | Int(bytes[2])) % bucketsPerShard
        return (Int(bytes[0]), bucket, Array(bytes[1...]))
    }

    /// The 16 bytes of a client id's SHA-256 that a pending slot keeps.
    static func clientDigest(_ clientID: String) -> [UInt8] {
        Array(Encoding.sha256(clientID).prefix(tagSize))
    }

    /// What a pending flow's slot says about it: enough to answer a poll (RFC 8628 §3.5).
    struct PendingFlow: Equatable {
        var clientDigest: [UInt8]
        var expiresAt: UnixTime
        /// The interval granted at creation.
        var grantedInterval: Int

        init(clientDigest: [UInt8], expiresAt: UnixTime, grantedInterval: Int) {
            self.clientDigest = clientDigest
            self.expiresAt = expiresAt
            self.grantedInterval = grantedInterval
        }

        init(_ record: DeviceFlowRecord) {
            self.init(clientDigest: FlowLockTable.clientDigest(record.clientID), expiresAt: record.expiresAt,
                      grantedInterval: record.interval)
        }
    }

    /// A slot's contents.
    struct Entry: Equatable {
        var poll: PollState?
        var pending: PendingFlow?
    }

    /// A flow's bucket while its lock is held: read and write its slot.
    struct Bucket {
        let fd: Int32
        let path: String
        let offset: off_t
        let tag: [UInt8]
        /// Whether a pending flag may be set and believed (the table's boot id is this boot's).
        let trusted: Bool
        private var slots: [UInt8]?

        init(fd: Int32, path: String, offset: off_t, tag: [UInt8], trusted: Bool) {
            self.fd = fd
            self.path = path
            self.offset = offset
            self.tag = tag
            self.trusted = trusted
        }

        private mutating func read() throws -> [UInt8] {
            if let slots { return slots }
            var bytes = try Sys.pread(fd, path, count: FlowLockTable.bucketSize, offset: offset)
            // Past the end of the sparse file: never written, all slots empty.
            if bytes.count < FlowLockTable.bucketSize { bytes += [UInt8](repeating: 0, count: FlowLockTable.bucketSize - bytes.count) }
            slots = bytes
            return bytes
        }

        /// The flow's slot; nil when it is missing, torn or was given away.
        mutating func entry() throws -> Entry? {
            let bytes = try read()
            guard let slot = FlowLockTable.slot(of: tag, in: bytes) else { return nil }
            var entry = FlowLockTable.decode(bytes, at: slot * FlowLockTable.slotSize)
            if !trusted { entry.pending = nil }
            return entry
        }

        /// The flow's soft state; nil when its slot is missing, torn or was given away.
        mutating func pollState() throws -> PollState? { try entry()?.poll }

        /// Writes the flow's slot in place (no fsync): its own, else an empty or unreadable
        /// one, else an ended flow's, else the pending flow's that expires first.
        mutating func write(_ entry: Entry, now: UnixTime) throws {
            var bytes = try read()
            var entry = entry
            if !trusted { entry.pending = nil }
            let slot = FlowLockTable.slot(of: tag, in: bytes) ?? FlowLockTable.freeSlot(in: bytes, now: now)
            let encoded = FlowLockTable.encode(tag: tag, entry)
            let at = slot * FlowLockTable.slotSize
            try Sys.pwriteAll(fd, path, encoded, offset: offset + off_t(at))
            bytes.replaceSubrange(at..<(at + FlowLockTable.slotSize), with: encoded)
            slots = bytes
        }

        /// The soft state alone, keeping what the slot says of the flow.
        mutating func setPollState(_ state: PollState, now: UnixTime) throws {
            var current = try entry() ?? Entry()
            current.poll = state
            try write(current, now: now)
        }

        /// Called before the flow's record is replaced: clears the pending flag first, so that
        /// a process killed between the two writes leaves no slot answering for a record that
        /// changed. Costs nothing when the slot says nothing of the flow.
        mutating func recordWillChange(now: UnixTime) throws {
            guard var current = try entry(), current.pending != nil else { return }
            current.pending = nil
            try write(current, now: now)
        }

        /// Empties the flow's slot, if it has one (its flow is being removed).
        mutating func forget() throws {
            var bytes = try read()
            guard let slot = FlowLockTable.slot(of: tag, in: bytes) else { return }
            let zeros = [UInt8](repeating: 0, count: FlowLockTable.slotSize)
            let at = slot * FlowLockTable.slotSize
            try Sys.pwriteAll(fd, path, zeros, offset: offset + off_t(at))
            bytes.replaceSubrange(at..<(at + FlowLockTable.slotSize), with: zeros)
            slots = bytes
        }
    }

    /// Opens a shard's table and makes sure it is this boot's: a table written in an earlier
    /// boot (or new) is emptied and stamped under the header's lock, before anything of it
    /// is read.
    private func openTable(_ path: String) throws -> Int32 {
        let fd = try Sys.open(path, O_RDWR | O_CREAT)
        do {
            if let bootID {
                // The file's own device and inode too: a copy of the table (cp, rsync, a
                // restored backup) is a new inode whose slots may be older than the records
                // copied beside it, and is emptied like a table of another boot.
                let st = try Sys.fstat(fd, path)
                var header = Self.magic + bootID
                for value in [UInt64(st.st_dev), UInt64(st.st_ino)] {
                    for i in 0..<8 { header.append(UInt8(truncatingIfNeeded: value >> (i * 8))) }
                }
                _ = try Sys.lockRange(fd, path, start: 0, length: off_t(Self.headerSize))
                defer { Sys.unlockRange(fd, start: 0, length: off_t(Self.headerSize)) }
                if try Sys.pread(fd, path, count: header.count, offset: 0) != header {
                    try Sys.truncate(fd, path, size: 0)
                    try Sys.pwriteAll(fd, path, header, offset: 0)
                }
            }
            return fd
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    /// Runs `body` holding the flow's lock, across every process sharing the state directory
    /// and every thread of this one. With `wait: false`, returns nil at once when another
    /// process holds it (garbage collection skips a busy flow).
    func withLock<T>(id: String, wait: Bool = true, _ body: (inout Bucket) throws -> T) throws -> T? {
        guard let place = Self.place(of: id) else { throw FlowStorageError(.corrupt, "flow id \(id) is not a SHA-256") }
        let mutex = mutexes + place.shard
        if wait {
            pthread_mutex_lock(mutex)
        } else if pthread_mutex_trylock(mutex) != 0 {
            return nil
        }
        defer { pthread_mutex_unlock(mutex) }
        let path = path(shard: place.shard)
        if descriptors[place.shard] < 0 {
            descriptors[place.shard] = try openTable(path)
        }
        let fd = descriptors[place.shard]
        let offset = off_t(Self.headerSize + place.bucket * Self.bucketSize)
        guard try Sys.lockRange(fd, path, start: offset, length: off_t(Self.bucketSize), wait: wait) else { return nil }
        defer { Sys.unlockRange(fd, start: offset, length: off_t(Self.bucketSize)) }
        var bucket = Bucket(fd: fd, path: path, offset: offset, tag: place.tag, trusted: bootID != nil)
        return try body(&bucket)
    }

    // MARK: Slots

    static let pendingFlag: UInt32 = 1

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for b in bytes {
            hash ^= UInt32(b)
            hash &*= 0x0100_0193
        }
        return hash ^ 0x5EED_5EED
    }

    static func isIntact(_ bytes: [UInt8], at at: Int) -> Bool {
        checksum(bytes[at..<(at + 56)]) == uint32(bytes, at + 56)
    }

    static func slot(of tag: [UInt8], in bytes: [UInt8]) -> Int? {
        for slot in 0..<slotsPerBucket {
            let at = slot * slotSize
            if bytes[at..<(at + tagSize)].elementsEqual(tag) && isIntact(bytes, at: at) { return slot }
        }
        return nil
    }

    /// An empty or torn slot; else the ended flow's polled longest ago; else the pending
    /// flow's that expires first.
    static func freeSlot(in bytes: [UInt8], now: UnixTime) -> Int {
        var best = 0
        var bestKey = (tier: 3, time: Int64.max)
        for slot in 0..<slotsPerBucket {
            let at = slot * slotSize
            guard isIntact(bytes, at: at) else { return slot }
            let entry = decode(bytes, at: at)
            let key: (tier: Int, time: Int64)
            if let pending = entry.pending, pending.expiresAt >= now {
                key = (2, pending.expiresAt.milliseconds)
            } else {
                key = (1, entry.poll?.lastPollAt?.milliseconds ?? 0)
            }
            if key < bestKey { (best, bestKey) = (slot, key) }
        }
        return best
    }

    static func encode(tag: [UInt8], _ entry: Entry) -> [UInt8] {
        var out = tag
        out.reserveCapacity(slotSize)
        out += entry.pending?.clientDigest ?? [UInt8](repeating: 0, count: tagSize)
        func append<T: FixedWidthInteger>(_ value: T) {
            for i in 0..<(T.bitWidth / 8) { out.append(UInt8(truncatingIfNeeded: value >> (i * 8))) }
        }
        append(max(0, entry.poll?.lastPollAt?.milliseconds ?? 0))
        append(entry.pending?.expiresAt.milliseconds ?? 0)
        append(UInt32(clamping: max(0, entry.poll?.interval ?? entry.pending?.grantedInterval ?? 0)))
        append(entry.pending == nil ? 0 : pendingFlag)
        append(checksum(out[0..<56]))
        append(UInt32(0))
        return out
    }

    /// The slot's poll state is nil when the flow was never polled and its slot only carries
    /// the pending summary written at creation; the interval is then the granted one.
    static func decode(_ bytes: [UInt8], at at: Int) -> Entry {
        let last = int64(bytes, at + 32)
        let expires = int64(bytes, at + 40)
        let interval = Int(uint32(bytes, at + 48))
        let flags = uint32(bytes, at + 52)
        var entry = Entry()
        if flags & pendingFlag != 0 {
            entry.pending = PendingFlow(clientDigest: Array(bytes[(at + tagSize)..<(at + 2 * tagSize)]),
                                        expiresAt: UnixTime(milliseconds: expires), grantedInterval: interval)
        }
        if last > 0 || entry.pending == nil {
            entry.poll = PollState(lastPollAt: last > 0 ? UnixTime(milliseconds: last) : nil, interval: interval)
        }
        return entry
    }

    static func uint32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    static func int64(_ b: [UInt8], _ i: Int) -> Int64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(b[i + k]) << (k * 8) }
        return Int64(bitPattern: v)
    }
}
