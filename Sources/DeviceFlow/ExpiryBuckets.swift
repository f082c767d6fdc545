/// How many flows under one key (a client, a client address) are still live, counted by the
/// time their device code expires: RFC 8628 §3.2 `expires_in` bounds how long a flow can hold
/// disk space as a pending flow, so a count of flows whose expiry lies ahead is an upper
/// bound on the live pending ones, and it corrects itself as time passes.
///
/// Sixteen slots, each one bucket of expiry times `width` seconds wide (`width(lifetime:)`):
/// a flow expiring at `e` adds one to the slot of bucket `e / width`, and a slot counts until
/// its bucket ends. Nothing is ever decremented, so nothing can leak: an approved, denied or
/// redeemed flow keeps its place until its code would have expired (at most `width` seconds
/// late), a flow counted by a worker that died before writing it costs a place for one
/// lifetime, and garbage collection of flows changes no count. A slot whose bucket has ended
/// is reused by the next bucket that maps to it.
public struct ExpiryBuckets: Sendable, Equatable {
    public static let slotCount = 16

    /// One bucket: when it ends (Unix seconds) and how many flows expire in it.
    public struct Slot: Sendable, Equatable {
        public var end: Int64
        public var count: Int64
        public init(end: Int64, count: Int64) { self.end = end; self.count = count }
    }

    public var slots: [Slot]

    public init(slots: [Slot] = []) {
        var s = Array(slots.prefix(Self.slotCount))
        while s.count < Self.slotCount { s.append(Slot(end: 0, count: 0)) }
        self.slots = s
    }

    /// The bucket width for codes that live `lifetime` seconds: 14 buckets span a lifetime, so
    /// the buckets live at any moment (`now / width` to `(now + lifetime) / width`) are at most
    /// 16 distinct ones and never share a slot.
    public static func width(lifetime: Int64) -> Int64 { max(1, (lifetime + 13) / 14) }

    /// Flows whose bucket has not ended at `now`.
    public func live(now: UnixTime) -> Int64 {
        // Saturating: the counts are read back from shared storage, where a garbled or
        // hostile value must refuse admissions, never trap the worker.
        slots.reduce(0) { total, slot in
            let (sum, overflow) = total.addingReportingOverflow(slot.end > now.seconds ? max(0, slot.count) : 0)
            return overflow ? .max : sum
        }
    }

    /// Seconds until the first live bucket ends, when a place frees up (at least 1).
    public func secondsUntilAPlaceFrees(now: UnixTime) -> Int64 {
        let ends = slots.filter { $0.end > now.seconds && $0.count > 0 }.map(\.end)
        return max(1, (ends.min() ?? now.seconds + 1) - now.seconds)
    }

    /// Counts one flow expiring at `expiresAt`. A slot still live for another bucket can only
    /// come from a change of `lifetimes.device_code` (another width): the two are merged,
    /// keeping the later end, so a count is never lost, only held a little longer.
    public mutating func add(expiresAt: UnixTime, width: Int64, now: UnixTime) {
        let bucket = expiresAt.seconds / width
        let end = (bucket + 1) * width
        let index = Int((bucket % Int64(Self.slotCount) + Int64(Self.slotCount)) % Int64(Self.slotCount))
        var slot = slots[index]
        if slot.end == end {
            slot.count = slot.count == .max ? .max : slot.count + 1
        } else if slot.end <= now.seconds || slot.count <= 0 {
            slot = Slot(end: end, count: 1)
        } else {
            slot = Slot(end: max(slot.end, end), count: slot.count == .max ? .max : slot.count + 1)
        }
        slots[index] = slot
    }
}
