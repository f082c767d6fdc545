#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// The locks and the soft polling state of flows: one table file per shard,
/// `flows/<xx>/polls`, instead of a lock file per flow.
///
/// A flow's exclusive lock is an OFD byte-range lock (`Sys.lockRange`) on its bucket: 512
/// bytes of the table chosen by the flow id. Its soft state (RFC 8628 §3.5: when it was last
/// polled, and the interval `slow_down` has grown to) is a 32-byte slot in that bucket,
/// written in place without fsync. So a new flow creates no file besides its record, and a
/// poll costs a lock, one `pread`, one `pwrite` and an unlock instead of opening a lock file.
///
/// ```
/// bucket  = 16 slots of 32 bytes; bucket b of a shard at offset b * 512; 512 buckets
/// slot    = tag (bytes 1...16 of the flow id) | last poll, Unix ms (Int64 LE, 0 = never)
///           | interval, s (Int32 LE) | FNV-1a 32 of the first 28 bytes, xor 0x5EED5EED
/// ```
/// The table is sparse: pages exist only for buckets that were written, at most 256 KiB a
/// shard (64 MiB for the directory). A slot is written on a flow's first poll, not at its
/// creation: a flow never polled has the state a missing slot means (never polled, the
/// record's interval). A full bucket gives the slot polled longest ago to the new flow (an
/// ended flow's, at any realistic load: 2M slots for the flows polled within one lifetime).
///
/// What the state is allowed to be, since it is soft: lost (a power cut before writeback, an
/// evicted slot, a torn or zeroed slot, which the checksum rejects) or stale (an older page
/// after a power cut). Either can only make one poll answer `authorization_pending` where
/// `slow_down` was due; neither can decide a redemption, which reads the durable record under
/// the lock. Nothing else lives here, so the table needs no recovery, no collection and no
/// fsync.
///
/// Exclusion is per bucket: two flows in one bucket (1 in 131,072 pairs) wait for each other
/// for the length of a decision. Within one process, a mutex per shard stands in for the OFD
/// lock between threads sharing the table's descriptor.
final class FlowLockTable {
    static let bucketsPerShard = 512
    static let slotsPerBucket = 16
    static let slotSize = 32
    static let bucketSize = slotsPerBucket * slotSize
    static let tagSize = 16
    static let name = "polls"

    let directory: StateDirectory
    /// The table descriptor of each shard, -1 until first used; opened under the shard's mutex.
    private let descriptors: UnsafeMutablePointer<Int32>
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>

    init(directory: StateDirectory) {
        self.directory = directory
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

    func path(shard: Int) -> String { "\(directory.flowsShard(StateDirectory.shardName(shard)))/\(Self.name)" }

    /// Where a flow id (64 lowercase hex) lives: its shard, bucket and tag.
    static func place(of id: String) -> (shard: Int, bucket: Int, tag: [UInt8])? {
        guard let bytes = Encoding.bytes(fromHex: String(id.prefix(2 + 2 * tagSize))), bytes.count == 1 + tagSize else { return nil }
        let bucket = (Int(bytes[1]) << 8 | Int(bytes[2])) % bucketsPerShard
        return (Int(bytes[0]), bucket, Array(bytes[1...]))
    }

    /// A flow's bucket while its lock is held: read and write its soft state.
    struct Bucket {
        let fd: Int32
        let path: String
        let offset: off_t
        let tag: [UInt8]
        private var slots: [UInt8]?

        init(fd: Int32, path: String, offset: off_t, tag: [UInt8]) {
            self.fd = fd
            self.path = path
            self.offset = offset
            self.tag = tag
        }

        private mutating func read() throws -> [UInt8] {
            if let slots { return slots }
            var bytes = try Sys.pread(fd, path, count: FlowLockTable.bucketSize, offset: offset)
            // Past the end of the sparse file: never written, all slots empty.
            if bytes.count < FlowLockTable.bucketSize { bytes += [UInt8](repeating: 0, count: FlowLockTable.bucketSize - bytes.count) }
            slots = bytes
            return bytes
        }

        /// The flow's soft state; nil when its slot is missing, torn or was given away.
        mutating func pollState() throws -> PollState? {
            let bytes = try read()
            guard let slot = FlowLockTable.slot(of: tag, in: bytes) else { return nil }
            return FlowLockTable.decode(bytes, at: slot * FlowLockTable.slotSize)
        }

        /// Writes the flow's soft state in place (no fsync): into its own slot, else an empty
        /// or unreadable one, else the one polled longest ago.
        mutating func setPollState(_ state: PollState) throws {
            var bytes = try read()
            let slot = FlowLockTable.slot(of: tag, in: bytes) ?? FlowLockTable.freeSlot(in: bytes)
            let encoded = FlowLockTable.encode(tag: tag, state)
            let at = slot * FlowLockTable.slotSize
            try Sys.pwriteAll(fd, path, encoded, offset: offset + off_t(at))
            bytes.replaceSubrange(at..<(at + FlowLockTable.slotSize), with: encoded)
            slots = bytes
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
            descriptors[place.shard] = try Sys.open(path, O_RDWR | O_CREAT)
        }
        let fd = descriptors[place.shard]
        let offset = off_t(place.bucket * Self.bucketSize)
        guard try Sys.lockRange(fd, path, start: offset, length: off_t(Self.bucketSize), wait: wait) else { return nil }
        defer { Sys.unlockRange(fd, start: offset, length: off_t(Self.bucketSize)) }
        var bucket = Bucket(fd: fd, path: path, offset: offset, tag: place.tag)
        return try body(&bucket)
    }

    // MARK: Slots

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for b in bytes {
            hash ^= UInt32(b)
            hash &*= 0x0100_0193
        }
        return hash ^ 0x5EED_5EED
    }

    static func isIntact(_ bytes: [UInt8], at at: Int) -> Bool {
        checksum(bytes[at..<(at + 28)]) == uint32(bytes, at + 28)
    }

    static func slot(of tag: [UInt8], in bytes: [UInt8]) -> Int? {
        for slot in 0..<slotsPerBucket {
            let at = slot * slotSize
            if bytes[at..<(at + tagSize)].elementsEqual(tag) && isIntact(bytes, at: at) { return slot }
        }
        return nil
    }

    static func freeSlot(in bytes: [UInt8]) -> Int {
        var oldest = 0
        var oldestPoll = Int64.max
        for slot in 0..<slotsPerBucket {
            let at = slot * slotSize
            guard isIntact(bytes, at: at) else { return slot }
            let last = int64(bytes, at + tagSize)
            if last < oldestPoll { (oldest, oldestPoll) = (slot, last) }
        }
        return oldest
    }

    static func encode(tag: [UInt8], _ state: PollState) -> [UInt8] {
        var out = tag
        out.reserveCapacity(slotSize)
        let last = max(0, state.lastPollAt?.milliseconds ?? 0)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: last >> (i * 8))) }
        let interval = UInt32(clamping: max(0, state.interval))
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: interval >> (i * 8))) }
        let sum = checksum(out[0..<28])
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: sum >> (i * 8))) }
        return out
    }

    static func decode(_ bytes: [UInt8], at at: Int) -> PollState {
        let last = int64(bytes, at + tagSize)
        return PollState(lastPollAt: last > 0 ? UnixTime(milliseconds: last) : nil, interval: Int(uint32(bytes, at + 24)))
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
