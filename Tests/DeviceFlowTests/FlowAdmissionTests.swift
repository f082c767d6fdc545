import DeviceFlow
import DeviceGateTesting
import Testing

/// The pending-flow cap's arithmetic (`ExpiryBuckets`) and the reserve decision
/// (`StorageReserve`), one row per case, with an injected clock.
struct FlowAdmissionTests {
    static let t0 = UnixTime(seconds: 1_800_000_000)

    /// A script: flows started at the given seconds after t0 (each living `lifetime`), then
    /// the live count read at `at` seconds.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var lifetime: Int64 = 600
        var startedAt: [Int64]
        var at: Int64
        var live: Int64
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing started, nothing live", startedAt: [], at: 0, live: 0),
        Case(name: "three flows just started are live", startedAt: [0, 0, 1], at: 1, live: 3),
        Case(name: "a flow still counts just before its expiry", startedAt: [0], at: 599, live: 1),
        // A flow expiring at t0+600 sits in the bucket [t0+600 rounded down to 43 s, +43 s).
        Case(name: "a flow no longer counts one bucket after its expiry", startedAt: [0], at: 600 + 43, live: 0),
        Case(name: "flows expire in the order they started", startedAt: [0, 100, 200, 300], at: 700 + 43, live: 2),
        Case(name: "a full lifetime of steady starts never collides in a slot", startedAt: Array(stride(from: 0, through: 600, by: 10)), at: 600, live: 61),
        Case(name: "a slot is reused once its bucket has ended", startedAt: [0, 0, 700], at: 701, live: 1),
        Case(name: "nothing is live long after a flood", startedAt: Array(repeating: 0, count: 500), at: 10_000, live: 0),
        Case(name: "a one-minute lifetime uses 5 s buckets", lifetime: 60, startedAt: [0, 30], at: 66, live: 1),
        Case(name: "a day-long lifetime", lifetime: 86_400, startedAt: [0, 43_200], at: 86_400 + 6_172, live: 1),
    ]

    @Test(arguments: cases)
    func liveCount(_ c: Case) {
        var buckets = ExpiryBuckets()
        let width = ExpiryBuckets.width(lifetime: c.lifetime)
        for start in c.startedAt {
            let now = Self.t0.adding(seconds: start)
            buckets.add(expiresAt: now.adding(seconds: c.lifetime), width: width, now: now)
        }
        #expect(buckets.live(now: Self.t0.adding(seconds: c.at)) == c.live)
    }

    @Test func widthSpreadsALifetimeOverFourteenBuckets() {
        #expect(ExpiryBuckets.width(lifetime: 600) == 43)
        #expect(ExpiryBuckets.width(lifetime: 60) == 5)
        #expect(ExpiryBuckets.width(lifetime: 1) == 1)
    }

    @Test func aChangedLifetimeMergesIntoALiveSlotAndLosesNoCount() {
        var buckets = ExpiryBuckets()
        buckets.add(expiresAt: Self.t0.adding(seconds: 600), width: 43, now: Self.t0)
        // Another width maps to the same slot while the first bucket is still live.
        for w: Int64 in 1...60 {
            buckets.add(expiresAt: Self.t0.adding(seconds: 600), width: w, now: Self.t0)
        }
        #expect(buckets.live(now: Self.t0) == 61)
    }

    /// The cap: refused at the limit, with Retry-After when the first place frees.
    @Test func refusalAtTheLimitSaysWhenAPlaceFrees() throws {
        let key = AdmissionKey(name: "address:192.0.2.1", limit: 3, kind: .address)
        var buckets = ExpiryBuckets()
        let width = ExpiryBuckets.width(lifetime: 600)
        for start: Int64 in [0, 100] { buckets.add(expiresAt: Self.t0.adding(seconds: start + 600), width: width, now: Self.t0.adding(seconds: start)) }
        #expect(key.refusal(buckets, now: Self.t0.adding(seconds: 100)) == nil)
        buckets.add(expiresAt: Self.t0.adding(seconds: 700), width: width, now: Self.t0.adding(seconds: 100))
        let refusal = try #require(key.refusal(buckets, now: Self.t0.adding(seconds: 100)))
        #expect(refusal.reason == .cap(.address, limit: 3))
        // The flow started at 0 is in the bucket ending at the next multiple of 43 after t0+600.
        let firstEnd = (Self.t0.seconds + 600) / 43 * 43 + 43
        #expect(refusal.retryAfterSeconds == firstEnd - Self.t0.seconds - 100)
        #expect(refusal.error.status == 429 && refusal.error.code == "temporarily_unavailable")
        #expect(key.refusal(buckets, now: Self.t0.adding(seconds: firstEnd - Self.t0.seconds)) == nil)
    }

    @Test func keysComeAddressFirstAndZeroTurnsACapOff() {
        let policy = FlowAdmissionPolicy(maxPendingPerClient: 10, maxPendingPerAddress: 2)
        #expect(policy.keys(clientID: "tv", addressKey: "192.0.2.1").map(\.name) == ["address:192.0.2.1", "client:tv"])
        #expect(FlowAdmissionPolicy(maxPendingPerClient: 0, maxPendingPerAddress: 2).keys(clientID: "tv", addressKey: "a").map(\.kind) == [.address])
        #expect(FlowAdmissionPolicy(maxPendingPerClient: 5, maxPendingPerAddress: 0).keys(clientID: "tv", addressKey: "a").map(\.kind) == [.client])
        #expect(policy.keys(clientID: "tv", addressKey: "a", networkKey: "n").map(\.kind) == [.address, .network, .client], "narrowest first")
        #expect(FlowAdmissionPolicy(maxPendingPerNetwork: 0).keys(clientID: "tv", addressKey: "a", networkKey: "n").map(\.kind) == [.address, .client])
    }

    struct ReserveCase: CustomTestStringConvertible, Sendable {
        var name: String
        var floor: Int
        var reading: FilesystemReading
        var refused: Bool
        var testDescription: String { name }
    }

    static func reading(blocks: (UInt64, UInt64), inodes: (UInt64, UInt64)) -> FilesystemReading {
        FilesystemReading(blocksTotal: blocks.0, blocksAvailable: blocks.1, inodesTotal: inodes.0, inodesAvailable: inodes.1)
    }

    static let reserveCases: [ReserveCase] = [
        ReserveCase(name: "plenty of both", floor: 5, reading: reading(blocks: (1000, 500), inodes: (1000, 500)), refused: false),
        ReserveCase(name: "exactly at the floor is admitted", floor: 5, reading: reading(blocks: (1000, 50), inodes: (1000, 50)), refused: false),
        ReserveCase(name: "blocks just below the floor", floor: 5, reading: reading(blocks: (1000, 49), inodes: (1000, 900)), refused: true),
        ReserveCase(name: "inodes just below the floor", floor: 5, reading: reading(blocks: (1000, 900), inodes: (1000, 49)), refused: true),
        ReserveCase(name: "no fixed inode count (btrfs) checks blocks only", floor: 5, reading: reading(blocks: (1000, 900), inodes: (0, 0)), refused: false),
        ReserveCase(name: "floor 0 keeps no reserve", floor: 0, reading: reading(blocks: (1000, 0), inodes: (1000, 0)), refused: false),
        ReserveCase(name: "a large disk does not overflow", floor: 50, reading: reading(blocks: (1 << 50, 1 << 48), inodes: (1 << 32, 1 << 31)), refused: true),
    ]

    @Test(arguments: reserveCases)
    func reserveDecision(_ c: ReserveCase) {
        #expect(StorageReserve(floorPercent: c.floor).isBelowFloor(c.reading) == c.refused)
    }

    /// The gauge reads statvfs at most once per interval while it admits, whatever the
    /// request rate, and again after the wall clock steps back; while it refuses, it reads
    /// at every check, so it admits again as soon as space returns.
    @Test func gaugeRereadsOnlyWhenItsReadingIsStaleOrRefuses() {
        let clock = ManualClock()
        var reads = 0
        var next = Self.reading(blocks: (1000, 900), inodes: (1000, 900))
        let gauge = StorageReserveGauge(reserve: StorageReserve(floorPercent: 5, maxReadingAgeMilliseconds: 250)) {
            reads += 1
            return next
        }
        #expect(gauge.check(now: clock.now()) == nil)
        next = Self.reading(blocks: (1000, 10), inodes: (1000, 900))
        clock.advance(milliseconds: 249)
        #expect(gauge.check(now: clock.now()) == nil)  // the admitting reading is still fresh
        #expect(reads == 1)
        clock.advance(milliseconds: 1)
        #expect(gauge.check(now: clock.now())?.reason == .reserve)
        #expect(reads == 2)
        #expect(gauge.check(now: clock.now())?.reason == .reserve)  // a refusing reading is not trusted
        #expect(reads == 3)
        next = Self.reading(blocks: (1000, 900), inodes: (1000, 900))
        #expect(gauge.check(now: clock.now()) == nil)
        #expect(reads == 4)
        clock.advance(milliseconds: -5_000)
        _ = gauge.check(now: clock.now())
        #expect(reads == 5)
        let failing = StorageReserveGauge(reserve: StorageReserve(floorPercent: 5)) { nil }
        #expect(failing.check(now: clock.now()) == nil)
    }
    /// The budget of admissions one reading buys: the headroom above the floor (the smaller
    /// of blocks and inodes) over 32 workers × 4 units, 0 at or near the floor.
    @Test func admissionsTrustedAfterAReadingShrinkToZeroNearTheFloor() {
        let reserve = StorageReserve(floorPercent: 25)
        #expect(reserve.admissionsTrusted(after: Self.reading(blocks: (4096, 4096), inodes: (4096, 4096))) == 3072 / 128)
        #expect(reserve.admissionsTrusted(after: Self.reading(blocks: (4096, 4096), inodes: (4096, 1024 + 255))) == 1)
        #expect(reserve.admissionsTrusted(after: Self.reading(blocks: (4096, 4096), inodes: (4096, 1024 + 127))) == 0)
        #expect(reserve.admissionsTrusted(after: Self.reading(blocks: (4096, 1000), inodes: (4096, 4096))) == 0)
        #expect(reserve.admissionsTrusted(after: Self.reading(blocks: (4096, 4096), inodes: (0, 0))) == 3072 / 128)
        #expect(StorageReserve(floorPercent: 0).admissionsTrusted(after: Self.reading(blocks: (10, 0), inodes: (10, 0))) == .max)
    }

    /// The failure CI found (test_flood.py): many workers admitting as fast as they can on
    /// the strength of one reading each. Simulated here with a shared filesystem of 4,096
    /// inodes, a 25% floor, and 32 gauges whose clocks never move (so only the admission
    /// budget makes them re-read), each admission using 4 inodes: the filesystem goes below
    /// the floor by at most one admission per gauge (each may admit on a reading at the
    /// floor), and every gauge ends up refusing. With the 250 ms trust alone, the first
    /// reading would let every gauge admit all 400 rounds.
    @Test func manyGaugesAdmittingAtOnceNeverSpendTheReserve() {
        let clock = ManualClock()
        var inodesFree: UInt64 = 4096
        let reserve = StorageReserve(floorPercent: 25, maxReadingAgeMilliseconds: 60_000)
        let gauges = (0..<Int(StorageReserve.workersAllowedFor)).map { _ in
            StorageReserveGauge(reserve: reserve) { Self.reading(blocks: (1 << 20, 1 << 20), inodes: (4096, inodesFree)) }
        }
        var admitted = 0
        for _ in 0..<400 {
            for gauge in gauges where gauge.check(now: clock.now()) == nil {
                admitted += 1
                inodesFree -= min(inodesFree, StorageReserve.unitsPerAdmission)  // a full disk stays at 0
            }
        }
        #expect(inodesFree + 4 * 32 >= 1024, "the floor was crossed by more than one admission per worker: \(inodesFree) inodes free")
        #expect(inodesFree < 1024 + 4 * 32 + 4, "the reserve refused far too early: \(inodesFree) inodes free")
        #expect(admitted > 700)
        #expect(gauges.allSatisfy { $0.check(now: clock.now()) != nil })
    }
    /// Counts read back from shared storage may be garbled or hostile: the largest possible
    /// counts refuse (live saturates at Int64.max) and counting on top of them does not trap.
    @Test func hostileCountsSaturateInsteadOfTrapping() {
        let now = UnixTime(seconds: 1_000)
        var buckets = ExpiryBuckets(slots: (0..<ExpiryBuckets.slotCount).map { _ in .init(end: 2_000, count: .max) })
        #expect(buckets.live(now: now) == .max)
        buckets.add(expiresAt: UnixTime(seconds: 1_990), width: ExpiryBuckets.width(lifetime: 600), now: now)
        #expect(buckets.live(now: now) == .max)
        #expect(AdmissionKey(name: "client tv", limit: 10, kind: .client).refusal(buckets, now: now) != nil)
    }
}
