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
}

/// A process's cached view of the reserve: a reading that admits is trusted for
/// `maxReadingAgeMilliseconds`, whatever the request rate; a reading that refuses is taken
/// again at the next device authorization, so new flows are admitted again as soon as space
/// returns (a refusal is cheap, and one statvfs costs about a microsecond).
public final class StorageReserveGauge: @unchecked Sendable {
    public let reserve: StorageReserve
    private let read: () -> FilesystemReading?
    private var reading: FilesystemReading?
    private var takenAt: UnixTime?

    /// `read` takes a reading (statvfs of the state directory); nil when it fails, which
    /// admits: the reserve must never be the reason a healthy service refuses.
    public init(reserve: StorageReserve, read: @escaping () -> FilesystemReading?) {
        self.reserve = reserve
        self.read = read
    }

    /// A refusal while the state filesystem is below the floor.
    public func check(now: UnixTime) -> AdmissionRefusal? {
        guard reserve.floorPercent > 0 else { return nil }
        if reserve.isStale(takenAt: takenAt, now: now) || reading.map(reserve.isBelowFloor) == true {
            reading = read()
            takenAt = now
        }
        guard let reading, reserve.isBelowFloor(reading) else { return nil }
        return AdmissionRefusal(.reserve, retryAfterSeconds: 30)
    }
}
