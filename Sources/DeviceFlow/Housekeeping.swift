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
///    stopped, while the budget lasts (at least one shard, at most every shard once): a small
///    state directory is swept every second, and a million flows cost the supervisor a
///    bounded share of one core.
public struct Housekeeping: Sendable, Equatable {
    /// Shards of the state directory (`StateDirectory.shardCount`).
    public let shardCount: Int
    /// Whether the census of flows is kept (metrics enabled and the census page claimed).
    public let keepsCensus: Bool
    /// Where the next tick's collection starts.
    public private(set) var nextShard = 0
    /// A checkpoint failed: none is tried again until a restart.
    public private(set) var checkpointsStopped = false

    /// Monotonic microseconds a tick spends on shards: 20 ms a second.
    public static let defaultBudgetMicroseconds: UInt64 = 20_000

    public init(shardCount: Int, keepsCensus: Bool) {
        precondition(shardCount > 0)
        self.shardCount = shardCount
        self.keepsCensus = keepsCensus
    }

    /// What one tick does.
    public struct Tick: Sendable, Equatable {
        /// The time every step of this tick is decided at.
        public let now: UnixTime
        public let checkpointJournal: Bool
        public let flushUnknownCodes: Bool
        /// Write each collected shard's census.
        public let writeCensus: Bool
        public let budgetMicroseconds: UInt64
        let firstShard: Int
        let shardCount: Int
        /// The shards handed out so far, in order.
        public private(set) var shards: [Int] = []

        /// The next shard to collect, given the monotonic microseconds the tick has spent so
        /// far (checkpoint included); nil once every shard has been visited or the budget is
        /// spent, after at least one.
        public mutating func nextShard(elapsedMicroseconds: UInt64) -> Int? {
            guard shards.count < shardCount, shards.isEmpty || elapsedMicroseconds < budgetMicroseconds else { return nil }
            let shard = (firstShard + shards.count) % shardCount
            shards.append(shard)
            return shard
        }
    }

    /// The plan of a tick at `now` with `budgetMicroseconds` for the shards.
    public func tick(now: UnixTime, budgetMicroseconds: UInt64 = Housekeeping.defaultBudgetMicroseconds) -> Tick {
        Tick(now: now, checkpointJournal: !checkpointsStopped, flushUnknownCodes: true, writeCensus: keepsCensus,
             budgetMicroseconds: budgetMicroseconds, firstShard: nextShard, shardCount: shardCount)
    }

    /// After the tick: the next one starts at the shard after the last one collected.
    public mutating func finished(_ tick: Tick) {
        nextShard = (tick.firstShard + tick.shards.count) % shardCount
    }

    /// The checkpoint threw: latch checkpoints off.
    public mutating func checkpointFailed() { checkpointsStopped = true }

    /// At a clean stop, once the workers are gone: checkpoint every log (`quiescent`), so the
    /// next start has nothing to replay, unless checkpoints are latched off.
    public var checkpointsAtStop: Bool { !checkpointsStopped }
}
