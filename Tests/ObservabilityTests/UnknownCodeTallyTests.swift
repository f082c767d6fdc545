import DeviceFlow
import DeviceGateTesting
import Observability
import Testing

/// Unknown device codes counted per address and minute: what is due when, one row per case.
struct UnknownCodeTallyTests {
    static let minute = UnixTime(seconds: 1_800_000_000)  // a minute boundary

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var maximumAddresses = 10_000
        /// (address, milliseconds after `minute`)
        var events: [(String, Int64)]
        /// Checked at this moment (ms after `minute`).
        var dueAt: Int64
        /// Expected lines: address → count, from the events' adds and the final `due`.
        var lines: [String: String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing is due within the minute", events: [("192.0.2.1", 0), ("192.0.2.1", 59_999)], dueAt: 59_999, lines: [:]),
        Case(name: "the minute's count is due at the next moment after it", events: [("192.0.2.1", 0), ("192.0.2.1", 59_999)], dueAt: 60_000,
             lines: ["192.0.2.1": "2"]),
        Case(name: "an event of the next minute writes the last one's line and starts a new count",
             events: [("192.0.2.1", 10), ("192.0.2.2", 20), ("192.0.2.1", 61_000)], dueAt: 61_001, lines: ["192.0.2.1": "1", "192.0.2.2": "1"]),
        Case(name: "a clock stepped back ends the minute too", events: [("192.0.2.1", 30_000)], dueAt: -1, lines: ["192.0.2.1": "1"]),
        Case(name: "addresses past the maximum are counted together", maximumAddresses: 2,
             events: [("a", 0), ("b", 1), ("c", 2), ("d", 3), ("a", 4)], dueAt: 60_000, lines: ["a": "2", "b": "1", "*": "2"]),
    ]

    @Test(arguments: cases)
    func lines(_ c: Case) {
        var tally = UnknownCodeTally(maximumAddresses: c.maximumAddresses)
        var written: [AuditEvent] = []
        for (address, ms) in c.events { written += tally.add(address: address, clientID: "tv", now: Self.minute.adding(milliseconds: ms)) }
        written += tally.due(now: Self.minute.adding(milliseconds: c.dueAt))
        var counts: [String: String] = [:]
        for event in written { counts[event.address] = event.details.first { $0.0 == "count" }?.1 }
        #expect(counts == c.lines)
        #expect(written.allSatisfy { $0.kind == .grantRefused && $0.time.milliseconds % 60_000 == 0 })
    }

    @Test func drainWritesWhatIsNotYetDueAndNamesNoClientWhenThereAreSeveral() {
        var tally = UnknownCodeTally()
        _ = tally.add(address: "192.0.2.1", clientID: "tv", now: Self.minute)
        _ = tally.add(address: "192.0.2.1", clientID: "other-tv", now: Self.minute)
        let lines = tally.drain()
        #expect(lines.count == 1 && lines[0].clientID == nil)
        #expect(tally.isEmpty && tally.drain().isEmpty)
    }
}
