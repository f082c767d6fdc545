/// What statvfs(3) says of the state filesystem: what an unprivileged process may still use
/// (`f_bavail`, `f_favail`) out of the total.
public struct FilesystemReading: Sendable, Equatable {
    public var blocksTotal: UInt64
    public var blocksAvailable: UInt64
    public var inodesTotal: UInt64
    public var inodesAvailable: UInt64

    public init(blocksTotal: UInt64, blocksAvailable: UInt64, inodesTotal: UInt64, inodesAvailable: UInt64) {
        self.blocksTotal = blocksTotal
        self.blocksAvailable = blocksAvailable
        self.inodesTotal = inodesTotal
        self.inodesAvailable = inodesAvailable
    }
}

/// The share of the state filesystem kept for flows that already exist: new device
/// authorizations are refused (503) once free blocks or free inodes fall below
/// `floorPercent` of the total, so approvals, redemptions, refreshes and sign-ins, which write
/// a file or two each, still find room when a flood of device authorizations has filled the
/// rest.
public struct StorageReserve: Sendable, Equatable {
    /// `admission.reserve_percent`: 0 turns the reserve off.
    public var floorPercent: Int
    /// `admission.reserve_check_interval_ms`: how old a reading may be before it is taken again.
    public var maxReadingAgeMilliseconds: Int64

    public init(floorPercent: Int = 5, maxReadingAgeMilliseconds: Int64 = 250) {
        self.floorPercent = floorPercent
        self.maxReadingAgeMilliseconds = maxReadingAgeMilliseconds
    }

    /// Whether the reading is below the floor. Inodes count only where the filesystem has a
    /// fixed number of them (btrfs and others report `f_files` 0).
    public func isBelowFloor(_ r: FilesystemReading) -> Bool {
        guard floorPercent > 0 else { return false }
        // statvfs counts stay far below 2^57, so neither product overflows.
        let floor = UInt64(floorPercent)
        func below(_ available: UInt64, _ total: UInt64) -> Bool { total > 0 && available * 100 < total * floor }
        return below(r.blocksAvailable, r.blocksTotal) || below(r.inodesAvailable, r.inodesTotal)
    }

    /// Whether a reading taken at `takenAt` must be taken again at `now` (also when the
    /// wall clock stepped back).
    public func isStale(takenAt: UnixTime?, now: UnixTime) -> Bool {
        guard let takenAt else { return true }
        let age = now.milliseconds(since: takenAt)
        return age < 0 || age >= maxReadingAgeMilliseconds
    }

    /// The workers, and the inodes and blocks one admitted device authorization may use,
    /// that `admissionsTrusted(after:)` allows for: 32 workers, each writing up to 4 of each
    /// on the strength of one reading (the flow record, its user-code index, and a first
    /// counter file for a new address and a new IPv6 /48).
    public static let workersAllowedFor: UInt64 = 32
    public static let unitsPerAdmission: UInt64 = 4

    /// How many of its own device authorizations a process may admit on the strength of an
    /// admitting reading before it must take another: the headroom above the floor (the
    /// smaller of blocks and inodes) divided among `workersAllowedFor` processes writing
    /// `unitsPerAdmission` each. So even if every worker admits its whole budget at once,
    /// the filesystem stays at or above the floor; near the floor the budget is 0 and every
    /// device authorization takes a fresh reading (then each worker can still admit one flow
    /// on a reading taken at the floor, so the floor is crossed by at most one admission per
    /// worker). Without this bound a reading trusted for
    /// 250 ms let a flood of about 1,700 flows/s through two workers spend 10% of a small
    /// disk's inodes below the floor (CI, test_flood.py).
    public func admissionsTrusted(after r: FilesystemReading) -> UInt64 {
        guard floorPercent > 0 else { return .max }
        let floor = UInt64(floorPercent)
        func headroom(_ available: UInt64, _ total: UInt64) -> UInt64 {
            guard total > 0 else { return .max }
            // The smallest count at or above the floor: available * 100 >= total * floor.
            let floorCount = (total * floor + 99) / 100
            return available > floorCount ? available - floorCount : 0
        }
        let room = min(headroom(r.blocksAvailable, r.blocksTotal), headroom(r.inodesAvailable, r.inodesTotal))
        return room == .max ? .max : room / (Self.workersAllowedFor * Self.unitsPerAdmission)
    }
}

/// A process's cached view of the reserve. A reading that admits is trusted for
/// `maxReadingAgeMilliseconds` and for at most `admissionsTrusted(after:)` of this
/// process's device authorizations, whichever ends first, so a flood cannot spend the
/// reserve between two readings; a reading that refuses is taken again at the next device
/// authorization, so new flows are admitted again as soon as space returns (one statvfs
/// costs about half a microsecond on this machine's ext4).
public final class StorageReserveGauge: @unchecked Sendable {
    public let reserve: StorageReserve
    private let read: () -> FilesystemReading?
    private var reading: FilesystemReading?
    private var takenAt: UnixTime?
    private var admissionsLeft: UInt64 = 0

    /// `read` takes a reading (statvfs of the state directory); nil when it fails, which
    /// admits: the reserve must never be the reason a healthy service refuses.
    public init(reserve: StorageReserve, read: @escaping () -> FilesystemReading?) {
        self.reserve = reserve
        self.read = read
    }

    /// A refusal while the state filesystem is below the floor. Each call that admits
    /// counts as one device authorization against the reading's budget.
    public func check(now: UnixTime) -> AdmissionRefusal? {
        guard reserve.floorPercent > 0 else { return nil }
        if reserve.isStale(takenAt: takenAt, now: now) || admissionsLeft == 0 || reading.map(reserve.isBelowFloor) == true {
            reading = read()
            takenAt = now
            admissionsLeft = reading.map(reserve.admissionsTrusted(after:)) ?? .max
        }
        guard let reading, reserve.isBelowFloor(reading) else {
            if admissionsLeft != .max { admissionsLeft -= admissionsLeft > 0 ? 1 : 0 }
            return nil
        }
        return AdmissionRefusal(.reserve, retryAfterSeconds: 30)
    }
}
