import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import Logging
import Observability
import Testing

/// Unknown device codes through the table every process shares: one audit line per address
/// a minute however many workers counted it, nothing lost, nothing written twice. The
/// telemetry tests run on both backends of `UnknownCodeCounting`; the last is the file table's.
struct SharedUnknownCodeTests {
    static let minute = UnixTime(seconds: 1_800_000_000)

    func directory(_ temp: TemporaryDirectory) throws -> StateDirectory {
        let directory = StateDirectory(root: temp.path + "/state")
        try directory.prepare()
        return directory
    }

    /// A worker's telemetry: on disk it opens the shared tables itself, as a process does; in
    /// memory every worker shares the store's one.
    func telemetry(_ storage: TestStorage, _ sink: RecordingAuditSink) -> Telemetry {
        let t = Telemetry(audit: sink, counters: nil, logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        if let directory = storage.directory {
            t.shareUnknownCredentials(FileUnknownCodeCounts.tables(in: directory))
        } else {
            t.shareUnknownCredentials(.deviceCode, in: storage.unknownCodes)
        }
        return t
    }

    /// Three workers and a supervisor: the minute's counts from every worker become one line
    /// per address, written once, by whoever looks first after the minute.
    @Test(arguments: [TestStorage.Kind.memory, .disk])
    func workersShareOneLinePerAddressAMinute(_ kind: TestStorage.Kind) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let storage = try TestStorage(kind, root: temp.path + "/state")
        let sink = RecordingAuditSink()
        let workers = (0..<3).map { _ in telemetry(storage, sink) }
        let supervisor = telemetry(storage, sink)
        for i in 0..<90 {
            let now = Self.minute.adding(milliseconds: Int64(i) * 500)
            workers[i % 3].recordUnknownCode(address: i % 2 == 0 ? "192.0.2.1" : "192.0.2.2", clientID: "tv", now: now)
            workers[(i + 1) % 3].flushUnknownCodes(now: now)
            supervisor.flushUnknownCodes(now: now)
        }
        #expect(sink.events.count == 0)
        let next = Self.minute.adding(seconds: 60)
        supervisor.flushUnknownCodes(now: next)
        for w in workers { w.flushUnknownCodes(now: next.adding(seconds: 1)) }
        let lines = sink.lines()
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains("\"ip\":\"192.0.2.1\"") && $0.contains("\"count\":\"45\"") && $0.contains("\"client_id\":\"tv\"") })
        #expect(lines.contains { $0.contains("\"ip\":\"192.0.2.2\"") && $0.contains("\"count\":\"45\"") })
        #expect(lines.allSatisfy { $0.contains("\"time\":\"2027-01-15T08:00:00.000Z\"") })
    }

    /// A worker that counts into an entry of an ended minute writes that minute's line itself
    /// before reusing the entry (the tick had not come yet): no count is lost.
    @Test(arguments: [TestStorage.Kind.memory, .disk])
    func anEndedMinuteIsWrittenByTheNextCountIfTheTickIsLate(_ kind: TestStorage.Kind) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let sink = RecordingAuditSink()
        let worker = telemetry(try TestStorage(kind, root: temp.path + "/state"), sink)
        worker.recordUnknownCode(address: "192.0.2.1", clientID: "tv", now: Self.minute)
        worker.recordUnknownCode(address: "192.0.2.1", clientID: "other-tv", now: Self.minute.adding(seconds: 1))
        worker.recordUnknownCode(address: "192.0.2.1", clientID: "tv", now: Self.minute.adding(seconds: 61))
        #expect(sink.events.count == 1)
        #expect(sink.events.first?.clientID == nil, "codes of two clients name neither")
        #expect(sink.lines().first?.contains("\"count\":\"2\"") == true)
    }

    /// More addresses in a minute than the table has entries: the rest add up under `*`, and
    /// the counts still sum to the number of requests.
    @Test func aFloodFromManyAddressesKeepsEveryCount() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let table = FileUnknownCodeCounts(directory: try directory(temp))
        let window = UnknownCodeTally.minute(of: Self.minute)
        for i in 0..<5_000 { #expect(try table.add(address: "10.\(i / 65_536).\(i / 256 % 256).\(i % 256)", clientID: "tv", window: window).isEmpty) }
        let due = try table.takeDue(window: window + 1)
        #expect(due.reduce(0) { $0 + $1.count } == 5_000)
        #expect(due.contains { $0.address == "*" && $0.count >= 5_000 - 4_095 })
        #expect(Set(due.map(\.address)).count == due.count, "one line per address")
        #expect(try table.takeDue(window: window + 1).isEmpty)
    }
}
