#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// Cost of the two hot paths on one connection against the local cluster, printed, never
/// asserted (a timed assertion would flake on a shared machine); one test at a time, and run
/// alone, so nothing else shares the connection's CPU:
/// `DEVICEGATE_BENCHMARKS=1 swift test --skip-build --filter PostgresFlowStoreBenchmark`.
@Suite(.serialized, .enabled(if: TestPostgres.benchmarksEnabled, "a benchmark: DEVICEGATE_BENCHMARKS=1 and DEVICEGATE_TEST_POSTGRES_URL"))
struct PostgresFlowStoreBenchmarkTests {
    @Test func createFlowAndPollMicrosecondsPerOperation() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let count = 2_000
        let flows = (0..<count).map { _ in flow() }
        let created = try measure { for f in flows { try store.createFlow(f) } }
        // Every poll is a pending one (each flow polled once, on time): the decision and one
        // write of the poll state, as the token endpoint does it.
        let polled = try measure {
            for f in flows {
                try store.updateFlow(id: f.id) { record, poll in
                    guard case .refuse(_, let next) = DevicePolling.decide(record: record, poll: poll, clientID: "tv", now: start.adding(seconds: 6)) else {
                        return FlowUpdate(result: ())
                    }
                    return FlowUpdate(poll: next, result: ())
                }
            }
        }
        print("PostgresFlowStore on one connection: createFlow \(perOp(created, count)) µs/op, updateFlow poll \(perOp(polled, count)) µs/op (\(count) each)")
        #expect(try store.summary(now: start).pendingFlows == count)
    }

    /// The same poll-shaped transaction (lock and read a row, update it, commit) with BEGIN sent
    /// on its own and with BEGIN pipelined with the read, alternating in rounds so that the
    /// load of a shared machine falls on both alike.
    @Test func pipelinedBeginAgainstSeparateBegin() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let f = flow()
        try store.createFlow(f)
        let c = pg.connection()
        let lock = PostgresStatement("bench_lock", "SELECT poll_interval_s FROM flows WHERE id = $1 FOR UPDATE")
        let write = PostgresStatement("bench_write", "UPDATE flows SET last_poll_ms = $2 WHERE id = $1")
        var separate: Int64 = 0, pipelined: Int64 = 0
        let rounds = 10, each = 200
        for round in 0..<rounds {
            separate += try measure {
                for i in 0..<each {
                    try c.transaction { tx in
                        _ = try tx.execute(lock, [.text(f.id)])
                        try tx.execute(write, [.text(f.id), .int(Int64(round * each + i))])
                    }
                }
            }
            pipelined += try measure {
                for i in 0..<each {
                    try c.transaction(beginningWith: lock, [.text(f.id)]) { tx, _ in
                        try tx.execute(write, [.text(f.id), .int(Int64(round * each + i))])
                    }
                }
            }
        }
        print("poll-shaped transaction: BEGIN separate \(perOp(separate, rounds * each)) µs/op, BEGIN pipelined \(perOp(pipelined, rounds * each)) µs/op")
    }

    func perOp(_ micros: Int64, _ count: Int) -> Double { (Double(micros) / Double(count) * 10).rounded() / 10 }

    /// Microseconds `body` took, by the monotonic clock.
    func measure(_ body: () throws -> Void) rethrows -> Int64 {
        func micros() -> Int64 {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
        }
        let begin = micros()
        try body()
        return micros() - begin
    }
}
