#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// `PostgresUnknownCodeCounts` with each store on a connection of its own, as hosts have.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresUnknownCodesTests {
    static func hosts(_ pg: TestPostgres, _ count: Int, kind: UnknownCredential = .deviceCode) throws -> [PostgresUnknownCodeCounts] {
        try (0..<count).map { _ in
            let store = PostgresUnknownCodeCounts(connection: pg.connection(), kind: kind)
            _ = try store.takeDue(window: 0)
            return store
        }
    }

    /// The minutes the adders have all moved past: what a taker may collect.
    final class Progress: @unchecked Sendable {
        private let lock = StateLock()
        private var minutes: [Int64]
        private var finished = 0
        init(_ adders: Int, first: Int64) { minutes = Array(repeating: first, count: adders) }
        func set(_ adder: Int, _ minute: Int64) { lock.withLock { minutes[adder] = minute } }
        func finish() { lock.withLock { finished += 1 } }
        var ended: (before: Int64, done: Bool) { lock.withLock { (minutes.min()!, finished == minutes.count) } }
    }

    /// 8 hosts adding through 4 minutes while two others take what is due each time every
    /// adder has moved on: each (address, minute) is handed back exactly once, with every
    /// code of it counted, and the client id only where one client was counted.
    @Test func everyCountIsHandedBackExactlyOnceAcrossConnections() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let adders = 8, perMinute = 25, first: Int64 = 29_000_000
        let minutes = first..<(first + 4)
        let hosts = try Self.hosts(pg, adders + 2)
        let progress = Progress(adders, first: first)
        let lock = StateLock()
        var taken: [UnknownCodeCount] = []
        let failed = Tally()
        onThreads(adders + 2) { i in
            if i >= adders {
                // A taker: takes every minute all adders have left, until they are done.
                while true {
                    let (before, done) = progress.ended
                    do {
                        let due = try hosts[i].takeDue(window: done ? Int64.max : before)
                        lock.withLock { taken += due }
                    } catch { failed.add(i) }
                    if done { return }
                    sched_yield()
                }
            }
            for minute in minutes {
                progress.set(i, minute)
                for n in 0..<perMinute {
                    do {
                        let made = try hosts[i].add(address: "203.0.113.\(n % 2)", clientID: n % 2 == 0 ? "tv" : "tv-\(i)", window: minute)
                        lock.withLock { taken += made }
                    } catch { failed.add(i) }
                }
            }
            progress.set(i, minutes.upperBound)
            progress.finish()
        }
        #expect(failed.all.isEmpty)
        let expected = minutes.flatMap { minute in [
            UnknownCodeCount(address: "203.0.113.0", clientID: "tv", count: Int64(adders * ((perMinute + 1) / 2)), window: minute),
            UnknownCodeCount(address: "203.0.113.1", clientID: nil, count: Int64(adders * (perMinute / 2)), window: minute),
        ] }
        #expect(taken.sorted { ($0.window, $0.address) < ($1.window, $1.address) } == expected)
        #expect(try hosts[0].takeDue(window: Int64.max).isEmpty)
    }

    @Test func takeDueHandsBackOnlyEndedMinutesOfItsOwnKind() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let tables = PostgresUnknownCodeCounts.tables(connection: pg.connection())
        let codes = try #require(tables[.deviceCode]), refresh = try #require(tables[.refreshToken])
        let other = try Self.hosts(pg, 1)[0]
        _ = try codes.add(address: "a", clientID: "tv", window: 10)
        _ = try codes.add(address: "a", clientID: "tv", window: 11)
        _ = try refresh.add(address: "a", clientID: "tv", window: 10)
        #expect(try other.takeDue(window: 10).isEmpty)
        #expect(try other.takeDue(window: 11) == [UnknownCodeCount(address: "a", clientID: "tv", count: 1, window: 10)])
        #expect(try other.takeDue(window: 11).isEmpty)
        #expect(try refresh.takeDue(window: 12) == [UnknownCodeCount(address: "a", clientID: "tv", count: 1, window: 10)])
        #expect(try codes.takeDue(window: 12) == [UnknownCodeCount(address: "a", clientID: "tv", count: 1, window: 11)])
    }

    /// "nil once codes of more than one client were counted", and it stays nil.
    @Test func theClientIsForgottenOnceASecondOneIsCounted() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = try Self.hosts(pg, 2)
        _ = try hosts[0].add(address: "a", clientID: "tv", window: 5)
        _ = try hosts[1].add(address: "a", clientID: "tv", window: 5)
        _ = try hosts[0].add(address: "a", clientID: "radio", window: 5)
        _ = try hosts[1].add(address: "a", clientID: "tv", window: 5)
        _ = try hosts[1].add(address: "b", clientID: "radio", window: 5)
        #expect(try hosts[0].takeDue(window: 6) == [
            UnknownCodeCount(address: "a", clientID: nil, count: 4, window: 5),
            UnknownCodeCount(address: "b", clientID: "radio", count: 1, window: 5),
        ])
    }

    /// Hostile sizes cost what the state directory's table allows: 46 bytes of address, 64
    /// of client id; a NUL cannot cut the statement short.
    @Test func hostileAddressesAndClientsAreCut() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.hosts(pg, 1)[0]
        _ = try store.add(address: String(repeating: "f", count: 500), clientID: String(repeating: "c", count: 5_000), window: 1)
        _ = try store.add(address: "x\u{0}y", clientID: "tv\u{0}'; DROP TABLE unknown_code_counts; --", window: 1)
        let due = try store.takeDue(window: 2)
        #expect(due.count == 2)
        #expect(due.contains(UnknownCodeCount(address: String(repeating: "f", count: 46), clientID: String(repeating: "c", count: 64), count: 1, window: 1)))
        #expect(due.contains(UnknownCodeCount(address: "xy", clientID: "tv'; DROP TABLE unknown_code_counts; --", count: 1, window: 1)))
    }

    @Test func anUnreachableDatabaseIsAStorageError() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try Self.hosts(pg, 1)[0]
        pg.remove()
        #expect(throws: FlowStorageError.self) { try store.add(address: "a", clientID: "tv", window: 1) }
        #expect(throws: FlowStorageError.self) { try store.takeDue(window: 2) }
    }
}
