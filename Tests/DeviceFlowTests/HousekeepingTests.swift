import DeviceFlow
import DeviceGateTesting
import Testing

/// The supervisor's housekeeping tick (issue 11, item 6): which shards a tick collects within
/// its budget, where the next tick starts, and the checkpoint latch, with a manual clock.
struct HousekeepingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var shardCount = 4
        /// Ticks already run, each collecting one shard: where this tick starts.
        var cursor = 0
        /// The microseconds spent when each shard is asked for (checkpoint included).
        var elapsed: [UInt64]
        var collected: [Int]
        var nextShard: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a quick tick sweeps every shard once and wraps round", elapsed: [0, 0, 0, 0, 0, 0], collected: [0, 1, 2, 3], nextShard: 0),
        Case(name: "a slow checkpoint still leaves one shard", elapsed: [25_000, 25_000], collected: [0], nextShard: 1),
        Case(name: "stops once the budget is spent", elapsed: [0, 5_000, 19_999, 20_000, 20_000], collected: [0, 1, 2], nextShard: 3),
        Case(name: "starts where the last tick stopped", cursor: 2, elapsed: [0, 0, 0, 0, 0], collected: [2, 3, 0, 1], nextShard: 2),
        Case(name: "a slow shard ends the tick", cursor: 3, elapsed: [0, 30_000], collected: [3], nextShard: 0),
        Case(name: "one shard only", shardCount: 1, elapsed: [0, 0], collected: [0], nextShard: 0),
        Case(name: "the real directory, a million flows", shardCount: 256, cursor: 255, elapsed: [0, 9_000, 18_000, 27_000], collected: [255, 0, 1], nextShard: 2),
    ]

    @Test(arguments: cases)
    func shardsWithinTheBudget(_ c: Case) {
        let clock = ManualClock()
        var state = Housekeeping(shardCount: c.shardCount, keepsCensus: true)
        for _ in 0..<c.cursor {
            var tick = state.tick(now: clock.now())
            _ = tick.nextShard(elapsedMicroseconds: 0)
            _ = tick.nextShard(elapsedMicroseconds: .max)
            state.finished(tick)
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
        state.finished(tick)
        #expect(state.nextShard == c.nextShard)
    }

    @Test func aTickIsDecidedAtItsTime() {
        let clock = ManualClock()
        clock.advance(milliseconds: 1_234)
        let state = Housekeeping(shardCount: 256, keepsCensus: false)
        let tick = state.tick(now: clock.now())
        #expect(tick.now == clock.now())
        #expect(tick.checkpointJournal && tick.flushUnknownCodes)
        #expect(!tick.writeCensus, "no census page, no census")
        #expect(tick.budgetMicroseconds == 20_000)
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
