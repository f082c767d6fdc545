#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// An expiry written into a record file's mtime when the record is written, so that garbage
/// collection learns from one fstatat(2) that an entry is not yet due, without opening,
/// reading or parsing it (issue 15).
///
/// `tv_sec` and the milliseconds of `tv_nsec` hold the time the entry becomes collectable (a
/// flow's, token's, family's or revocation's expiry, an authorization code's
/// `collectableAt`); the six lower digits of `tv_nsec` hold `marker + tag`, where the tag is a
/// flow's state (for the census) or 0. A file without the marker (written before stamps, by
/// the journal's replay, or on a filesystem that keeps coarse times) carries no stamp and is
/// read as before. A stamp only ever postpones a read: whether an entry is removed is always
/// decided on its parsed record, so a wrong or foreign mtime can delay collection but never
/// remove anything early. A file written before stamps whose write time happens to end in the
/// marker (one in 100,000) is taken as stamped with its write time, which is in the past: it is
/// read (everything but a flow within its retention) or counted as expired for a while.
struct ExpiryStamp: Equatable {
    var expiresAt: UnixTime
    var tag: Int

    static let marker = 963_000
    static let tags = 10

    /// The census tags of a flow's state.
    static func tag(of status: DeviceFlowRecord.Status) -> Int {
        switch status {
        case .pending: return 1
        case .approved: return 2
        case .denied: return 3
        case .redeemed: return 4
        }
    }

    /// The mtime to write, or nil for a time outside what a file time holds.
    var modificationTime: timespec? {
        let ms = expiresAt.milliseconds
        guard ms >= 0, ms < Int64(Int32.max) * 1000 * 8, (0..<Self.tags).contains(tag) else { return nil }
        return timespec(tv_sec: Int(ms / 1000), tv_nsec: Int(ms % 1000) * 1_000_000 + Self.marker + tag)
    }

    init(expiresAt: UnixTime, tag: Int = 0) {
        self.expiresAt = expiresAt
        self.tag = tag
    }

    /// The stamp a file's mtime carries, if it carries one.
    init?(_ modified: timespec?) {
        guard let modified, modified.tv_sec >= 0, (0..<1_000_000_000).contains(modified.tv_nsec) else { return nil }
        let low = modified.tv_nsec % 1_000_000
        guard low >= Self.marker, low < Self.marker + Self.tags else { return nil }
        expiresAt = UnixTime(milliseconds: Int64(modified.tv_sec) * 1000 + Int64(modified.tv_nsec / 1_000_000))
        tag = low - Self.marker
    }

    static func flow(_ record: DeviceFlowRecord) -> timespec? {
        ExpiryStamp(expiresAt: record.expiresAt, tag: tag(of: record.status)).modificationTime
    }

    /// The tag of a family whose grant-index entry was written before it (`createRefreshFamily`):
    /// garbage collection need not read it to heal the index.
    static let indexedFamily = 1

    static func family(_ family: RefreshFamily, indexed: Bool) -> timespec? {
        ExpiryStamp(expiresAt: family.expiresAt, tag: indexed ? indexedFamily : 0).modificationTime
    }

    static func expiring(_ time: UnixTime) -> timespec? { ExpiryStamp(expiresAt: time).modificationTime }
}

extension FlowCensus {
    /// Counts a flow from its stamp alone, as `count(_:now:)` counts its record: a redeemed
    /// flow is redeemed, any other past its expiry is expired. False for a stamp without a state.
    mutating func count(_ stamp: ExpiryStamp, now: UnixTime) -> Bool {
        switch stamp.tag {
        case 4: redeemed += 1
        case 1...3 where now >= stamp.expiresAt: expired += 1
        case 1: pending += 1
        case 2: approved += 1
        case 3: denied += 1
        default: return false
        }
        return true
    }
}
