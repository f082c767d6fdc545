/// The supervisor's housekeeping as a value: what each tick (about once a second) does, from
/// the state carried between ticks, the time and a budget. The executor (`devicegate serve`)
/// does the I/O and reports back; nothing here reads a clock or touches a file.
///
/// A tick, in order:
/// 1. the creation journal's checkpoint (a `syncfs` when a log's minute is over; the store
///    picks the due logs from `now`), unless an earlier checkpoint failed: after a failed
///    `syncfs` the kernel may report the next one as a success without having written the
///    same pages, so no log is removed again until a restart replays the journal;
/// 2. the unknown-device-code audit lines of the minute that just ended;
/// 3. garbage collection and the census of flows, shard after shard from where the last tick
///    stopped, while the tick's allowance lasts (at most every shard once).
///
/// Steps 1 and 2 run on every tick. Step 3 is paid from a token bucket: the balance earns
/// `budgetMicrosecondsPerSecond` for every second of `now` between ticks (2% of a core by
/// default), holds at most one second's worth (`burstMicroseconds`), and pays for the
/// monotonic time the shards of each tick took. A tick that starts with a positive balance
/// collects at least one shard, whatever it costs; what it overspends is carried as debt, and
/// a tick in debt collects no shard. So over any minute the shards cost at most the share
/// (plus one second's burst), however much one shard costs, up to the bound on the debt.
///
/// What this trades: the cycle over all shards lengthens with the cost of a shard. A shard
/// costing `c` ms is collected every `c / 20` seconds at the default share, so a full cycle
/// over the 256 shards takes `256 · c / 20` seconds: about 13 s at 1 ms a shard, 64 s at
/// 5 ms, and 26-49 minutes at the 120-230 ms a shard cost at a million entries when a pass
/// read every record (issue 15). Expired entries live
/// that much longer on disk; no decision depends on their removal (every reader checks the
/// expiry itself).
///
/// The debt is bounded at `maximumDebtSeconds` of share (three minutes): one pathological
/// shard (say a directory of millions of stray files) stops collection for at most that long,
/// and beyond that bound it is the share, not collection, that gives way.
public struct Housekeeping: Sendable, Equatable {
    /// Shards of the state directory (`StateDirectory.shardCount`).
    public let shardCount: Int
    /// Whether the census of flows is kept (metrics enabled and the census page claimed).
    public let keepsCensus: Bool
    /// Monotonic microseconds of shard work earned per second of wall time: the share.
    public let budgetMicrosecondsPerSecond: UInt64
    /// Where the next tick's collection starts.
    public private(set) var nextShard = 0
    /// A checkpoint failed: none is tried again until a restart.
    public private(set) var checkpointsStopped = false
    /// Microseconds of shard work the next tick may spend; negative is debt.
    public private(set) var balanceMicroseconds: Int64
    /// The previous tick's time, from which the next one's earnings are counted.
    private var lastTick: UnixTime?

    /// 20 ms of shard work a second: 2% of one core.
    public static let defaultBudgetMicrosecondsPerSecond: UInt64 = 20_000
    /// How many seconds of share the debt may reach: the longest pause one shard can cause.
    public static let maximumDebtSeconds: Int64 = 180

    /// The most the balance can hold: one second's share, so an idle minute is not spent at once.
    public var burstMicroseconds: Int64 { Int64(budgetMicrosecondsPerSecond) }
    /// The deepest debt: `maximumDebtSeconds` of share.
    public var maximumDebtMicroseconds: Int64 { Int64(budgetMicrosecondsPerSecond) * Self.maximumDebtSeconds }

    public init(shardCount: Int, keepsCensus: Bool, budgetMicrosecondsPerSecond: UInt64 = Housekeeping.defaultBudgetMicrosecondsPerSecond) {
        precondition(shardCount > 0 && budgetMicrosecondsPerSecond > 0)
        self.shardCount = shardCount
        self.keepsCensus = keepsCensus
        self.budgetMicrosecondsPerSecond = budgetMicrosecondsPerSecond
        self.balanceMicroseconds = Int64(budgetMicrosecondsPerSecond)
    }

    /// What one tick does.
    public struct Tick: Sendable, Equatable {
        /// The time every step of this tick is decided at.
        public let now: UnixTime
        public let checkpointJournal: Bool
        public let flushUnknownCodes: Bool
        /// Write each collected shard's census.
        public let writeCensus: Bool
        /// Monotonic microseconds this tick may spend on shards; 0 in debt (no shard at all).
        public let allowanceMicroseconds: UInt64
        let firstShard: Int
        let shardCount: Int
        /// The balance once the tick's earnings are counted, before its spending.
        let balanceMicroseconds: Int64
        /// The shards handed out so far, in order.
        public private(set) var shards: [Int] = []

        /// The next shard to collect, given the monotonic microseconds the shards of this tick
        /// have taken so far; nil once every shard has been visited or the allowance is spent,
        /// after at least one when there is an allowance at all.
        public mutating func nextShard(elapsedMicroseconds: UInt64) -> Int? {
            guard shards.count < shardCount, allowanceMicroseconds > 0, elapsedMicroseconds < allowanceMicroseconds else { return nil }
            let shard = (firstShard + shards.count) % shardCount
            shards.append(shard)
            return shard
        }
    }

    /// The plan of a tick at `now`: its earnings since the previous tick are counted here (a
    /// clock that went back earns nothing), and spent in `finished`.
    public func tick(now: UnixTime) -> Tick {
        let earned: Int64
        if let lastTick {
            let ms = max(0, min(now.milliseconds(since: lastTick), Self.maximumDebtSeconds * 1000))
            earned = ms * Int64(budgetMicrosecondsPerSecond) / 1000
        } else {
            earned = 0
        }
        let balance = min(balanceMicroseconds + earned, burstMicroseconds)
        return Tick(now: now, checkpointJournal: !checkpointsStopped, flushUnknownCodes: true, writeCensus: keepsCensus,
                    allowanceMicroseconds: UInt64(max(0, balance)), firstShard: nextShard, shardCount: shardCount,
                    balanceMicroseconds: balance)
    }

    /// After the tick, with the monotonic microseconds its shards took: the next tick starts
    /// at the shard after the last one collected, and pays off what this one overspent.
    public mutating func finished(_ tick: Tick, spentMicroseconds: UInt64) {
        nextShard = (tick.firstShard + tick.shards.count) % shardCount
        let spent = Int64(min(spentMicroseconds, UInt64(Int64.max / 2)))
        balanceMicroseconds = max(tick.balanceMicroseconds - spent, -maximumDebtMicroseconds)
        lastTick = tick.now
    }

    /// The checkpoint threw: latch checkpoints off.
    public mutating func checkpointFailed() { checkpointsStopped = true }

    /// At a clean stop, once the workers are gone: checkpoint every log (`quiescent`), so the
    /// next start has nothing to replay, unless checkpoints are latched off.
    public var checkpointsAtStop: Bool { !checkpointsStopped }
}
