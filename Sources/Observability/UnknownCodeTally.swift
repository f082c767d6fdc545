import DeviceFlow

/// Unknown device codes (`invalid_grant`, `OAuthError.unknownDeviceCode`) counted per client
/// address and minute, so that guessing costs the audit log one line per address a minute
/// with a `count`, never one line per request.
///
/// This is the in-process tally, for a `Telemetry` without a state directory (tests, tools);
/// the workers and the supervisor share `FileUnknownCodeCounts` instead, so that an address
/// gets one line a minute however many workers answered it.
///
/// A minute's lines are due once the minute has ended: they are written at the next request
/// of any kind after that (`Telemetry.flushUnknownCodes(now:)`, called for every request),
/// and, with the shared table, by the supervisor's housekeeping tick within a second of the
/// minute's end (whichever comes first; the table's lock makes sure only one writes them).
///
/// At most `maximumAddresses` addresses are told apart in a minute; the rest are counted
/// together under `*`, so a flood from many addresses cannot grow a worker's memory.
public struct UnknownCodeTally: Sendable {
    public static let windowMilliseconds: Int64 = 60_000
    public let maximumAddresses: Int
    /// What is counted: the audit line's `grant` and `reason`.
    public let kind: UnknownCredential

    private var window: Int64?
    private var counts: [String: (count: Int, clientID: String?)] = [:]

    public init(maximumAddresses: Int = 10_000, kind: UnknownCredential = .deviceCode) {
        self.maximumAddresses = maximumAddresses
        self.kind = kind
    }

    public var isEmpty: Bool { counts.isEmpty }

    private static func window(of time: UnixTime) -> Int64 {
        let ms = time.milliseconds
        return (ms >= 0 ? ms : ms - windowMilliseconds + 1) / windowMilliseconds
    }

    /// Counts one unknown code from `address` (already reduced to its /64 for IPv6, see
    /// `AddressKey`); returns the lines of a minute that has just ended.
    public mutating func add(address: String, clientID: String, now: UnixTime) -> [AuditEvent] {
        let due = self.due(now: now)
        if window == nil { window = Self.window(of: now) }
        let key = counts[address] != nil || counts.count < maximumAddresses ? address : "*"
        var entry = counts[key] ?? (0, clientID)
        entry.count += 1
        if entry.clientID != clientID { entry.clientID = nil }  // several clients: name none
        counts[key] = entry
        return due
    }

    /// The lines of the minute counted so far once `now` is past it (also when the clock
    /// stepped back), else none.
    public mutating func due(now: UnixTime) -> [AuditEvent] {
        guard let window, Self.window(of: now) != window else { return [] }
        return drain()
    }

    /// Every line counted so far, due or not (a stopping worker writes them).
    public mutating func drain() -> [AuditEvent] {
        guard let window else { return [] }
        let events = counts.sorted { $0.key < $1.key }.map { address, entry in
            Self.event(UnknownCodeCount(address: address, clientID: entry.clientID, count: Int64(entry.count), window: window), kind: kind)
        }
        self.window = nil
        counts = [:]
        return events
    }

    /// The minute (Unix minutes) `time` falls in.
    public static func minute(of time: UnixTime) -> Int64 { window(of: time) }

    /// The audit line of one address's minute: `grant.refused`, stamped with the minute's
    /// start, with `count` and `until` (the minute's end).
    public static func event(_ count: UnknownCodeCount, kind: UnknownCredential = .deviceCode) -> AuditEvent {
        let start = UnixTime(milliseconds: count.window * windowMilliseconds)
        return AuditEvent(.grantRefused, time: start, address: count.address, clientID: count.clientID, details: [
            ("grant", kind.rawValue), ("reason", kind.error.detail),
            ("count", "\(count.count)"), ("until", Timestamp.iso8601(start.adding(milliseconds: windowMilliseconds))),
        ])
    }
}
