import DeviceFlow
import DeviceGateTesting
import Testing

/// The supervisor's housekeeping tick (issue 11, item 6; issue 15's share): which shards a tick
/// collects within its allowance, the debt an expensive shard leaves, where the next tick
/// starts, and the checkpoint latch, with a manual clock.
struct HousekeepingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var shardCount = 4
        /// Ticks already run, each collecting one shard at no cost: where this tick starts.
        var cursor = 0
        /// The microseconds the shards have taken when each next shard is asked for.
        var elapsed: [UInt64]
        var collected: [Int]
        var nextShard: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a quick tick sweeps every shard once and wraps round", elapsed: [0, 0, 0, 0, 0, 0], collected: [0, 1, 2, 3], nextShard: 0),
        Case(name: "stops once the allowance is spent", elapsed: [0, 5_000, 19_999, 20_000, 20_000], collected: [0, 1, 2], nextShard: 3),
        Case(name: "starts where the last tick stopped", cursor: 2, elapsed: [0, 0, 0, 0, 0], collected: [2, 3, 0, 1], nextShard: 2),
        Case(name: "a slow shard ends the tick", cursor: 3, elapsed: [0, 30_000], collected: [3], nextShard: 0),
        Case(name: "one shard only", shardCount: 1, elapsed: [0, 0], collected: [0], nextShard: 0),
        Case(name: "the real directory, a million flows", shardCount: 256, cursor: 255, elapsed: [0, 9_000, 18_000, 27_000], collected: [255, 0, 1], nextShard: 2),
    ]

    @Test(arguments: cases)
    func shardsWithinTheAllowance(_ c: Case) {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: c.shardCount, keepsCensus: true)
        for _ in 0..<c.cursor {
            var tick = state.tick(now: clock.now())
            _ = tick.nextShard(elapsedMicroseconds: 0)
            _ = tick.nextShard(elapsedMicroseconds: .max)
            state.finished(tick, spentMicroseconds: 0)
            clock.advance(seconds: 1)
        }
        #expect(state.nextShard == c.cursor % c.shardCount)
        var tick = state.tick(now: clock.now())
        var collected: [Int] = []
        for spent in c.elapsed {
            guard let shard = tick.nextShard(elapsedMicroseconds: spent) else { break }
            collected.append(shard)
        }
        #expect(collected == c.collected)
        #expect(tick.shards == c.collected)
        if collected.count == c.shardCount {
            var again = tick
            #expect(again.nextShard(elapsedMicroseconds: 0) == nil, "every shard visited: no second visit in one tick")
        }
        state.finished(tick, spentMicroseconds: c.elapsed.last ?? 0)
        #expect(state.nextShard == c.nextShard)
    }

    /// Ticks a second apart where every shard costs `shardMicroseconds`: how many shards each
    /// of `seconds` ticks collects.
    static func shardsPerTick(shardMicroseconds: UInt64, seconds: Int, share: UInt64 = Housekeeping.defaultBudgetMicrosecondsPerSecond) -> [Int] {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: 256, keepsCensus: true, budgetMicrosecondsPerSecond: share)
        var counts: [Int] = []
        for _ in 0..<seconds {
            var tick = state.tick(now: clock.now())
            var spent: UInt64 = 0
            while tick.nextShard(elapsedMicroseconds: spent) != nil { spent += shardMicroseconds }
            state.finished(tick, spentMicroseconds: spent)
            counts.append(tick.shards.count)
            clock.advance(seconds: 1)
        }
        return counts
    }

    struct ShareCase: CustomTestStringConvertible, Sendable {
        var name: String
        var shardMicroseconds: UInt64
        /// Shards a minute of ticks collects (after the first minute, whose burst is spent).
        var shardsAMinute: ClosedRange<Int>
        var testDescription: String { name }
    }

    static let shareCases: [ShareCase] = [
        // 20 ms of shards a second: 60 s · 20 ms = 1.2 s of shards a minute.
        ShareCase(name: "cheap shards: about 20 a tick (1 ms each)", shardMicroseconds: 1_000, shardsAMinute: 1_200...1_260),
        ShareCase(name: "a shard at the share: one a tick", shardMicroseconds: 20_000, shardsAMinute: 60...61),
        ShareCase(name: "a 120 ms shard (1M entries, read in full): one every six ticks", shardMicroseconds: 120_000, shardsAMinute: 10...11),
        ShareCase(name: "a 230 ms shard: one every 11.5 ticks", shardMicroseconds: 230_000, shardsAMinute: 5...6),
    ]

    /// Over any minute the shards cost at most the share (plus one second's burst), whatever a
    /// shard costs: the issue-15 bound, where before a tick always collected one shard.
    @Test(arguments: shareCases)
    func overAMinuteTheShardsCostTheShare(_ c: ShareCase) {
        let counts = Self.shardsPerTick(shardMicroseconds: c.shardMicroseconds, seconds: 180)
        let share = Housekeeping.defaultBudgetMicrosecondsPerSecond
        for start in stride(from: 60, through: 120, by: 7) {
            let shards = counts[start..<(start + 60)].reduce(0, +)
            #expect(c.shardsAMinute.contains(shards), "minute from \(start) s: \(shards) shards")
            #expect(UInt64(shards) * c.shardMicroseconds <= 60 * share + share + c.shardMicroseconds)
        }
    }

    @Test func aTickInDebtCollectsNoShardButStillCheckpointsAndFlushes() {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: 4, keepsCensus: true)
        var tick = state.tick(now: clock.now())
        #expect(tick.nextShard(elapsedMicroseconds: 0) == 0)
        state.finished(tick, spentMicroseconds: 100_000)
        #expect(state.balanceMicroseconds == 20_000 - 100_000)
        // 80 ms of debt at 20 ms a second: four ticks without a shard, the fifth collects.
        for second in 1...5 {
            clock.advance(seconds: 1)
            var next = state.tick(now: clock.now())
            #expect(next.checkpointJournal && next.flushUnknownCodes, "tick \(second)")
            let shard = next.nextShard(elapsedMicroseconds: 0)
            #expect((shard == nil) == (second < 5), "tick \(second): \(String(describing: shard))")
            state.finished(next, spentMicroseconds: 0)
            #expect(state.nextShard == (second < 5 ? 1 : 2), "a tick in debt does not move the cursor")
        }
    }

    /// One pathological shard stops collection for at most `maximumDebtSeconds`.
    @Test func theDebtIsBounded() {
        let counts = Self.shardsPerTick(shardMicroseconds: 3_600_000_000, seconds: 400)
        let collectedAt = counts.indices.filter { counts[$0] > 0 }
        #expect(collectedAt.first == 0)
        #expect(collectedAt.count >= 2)
        for (a, b) in zip(collectedAt, collectedAt.dropFirst()) {
            #expect(b - a <= Int(Housekeeping.maximumDebtSeconds) + 1, "a pause of \(b - a) s")
        }
        var state = Housekeeping(shardCount: 4, keepsCensus: true)
        let tick = state.tick(now: ManualClock().now())
        state.finished(tick, spentMicroseconds: .max)
        #expect(state.balanceMicroseconds == -state.maximumDebtMicroseconds)
    }

    /// Earnings follow `now`: a long gap earns no more than the burst, a clock that went back
    /// earns nothing.
    @Test func earningsFollowTheClock() {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: 4, keepsCensus: true)
        var tick = state.tick(now: clock.now())
        #expect(tick.allowanceMicroseconds == 20_000, "the first tick has one second's share")
        state.finished(tick, spentMicroseconds: 50_000)
        clock.advance(milliseconds: 500)
        #expect(state.tick(now: clock.now()).allowanceMicroseconds == 0, "-30 ms + 10 ms")
        clock.advance(seconds: 3_600)
        tick = state.tick(now: clock.now())
        #expect(tick.allowanceMicroseconds == 20_000, "an hour idle still buys one second's burst")
        state.finished(tick, spentMicroseconds: 40_000)
        clock.advance(seconds: -60)
        #expect(state.tick(now: clock.now()).allowanceMicroseconds == 0, "a clock that went back earns nothing")
    }

    @Test func aTickIsDecidedAtItsTime() {
        let clock = ManualClock()
        clock.advance(milliseconds: 1_234)
        let state = Housekeeping(shardCount: 256, keepsCensus: false)
        let tick = state.tick(now: clock.now())
        #expect(tick.now == clock.now())
        #expect(tick.checkpointJournal && tick.flushUnknownCodes)
        #expect(!tick.writeCensus, "no census page, no census")
        #expect(tick.allowanceMicroseconds == 20_000)
        #expect(Housekeeping(shardCount: 256, keepsCensus: true).tick(now: clock.now()).writeCensus)
    }

    /// After a failed syncfs the kernel may report the next one as a success without having
    /// written the same pages: checkpoints stop, at the stop too, until a restart replays.
    @Test func aFailedCheckpointLatchesCheckpointsOff() {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: 4, keepsCensus: true)
        #expect(state.tick(now: clock.now()).checkpointJournal)
        #expect(state.checkpointsAtStop)
        state.checkpointFailed()
        for _ in 0..<3 {
            clock.advance(seconds: 60)
            let tick = state.tick(now: clock.now())
            #expect(!tick.checkpointJournal)
            #expect(tick.flushUnknownCodes, "the rest of the tick goes on")
            #expect(tick.writeCensus)
        }
        #expect(!state.checkpointsAtStop)
    }
}
