import DeviceFlow

/// Unknown device codes (`invalid_grant`, `OAuthError.unknownDeviceCode`) counted per client
/// address and minute, so that guessing costs the audit log one line per address a minute
/// with a `count`, never one line per request.
///
/// A minute's lines are due once the minute has ended: the worker writes them at its next
/// request of any kind after that (`Telemetry.flushUnknownCodes(now:)`, called for every
/// request) and at a graceful stop (`Telemetry.drainUnknownCodes`). A worker that is
/// SIGKILLed loses its current minute's counts; the requests themselves are still counted in
/// the `grant.refused` metric at once.
///
/// At most `maximumAddresses` addresses are told apart in a minute; the rest are counted
/// together under `*`, so a flood from many addresses cannot grow a worker's memory.
public struct UnknownCodeTally: Sendable {
    public static let windowMilliseconds: Int64 = 60_000
    public let maximumAddresses: Int

    private var window: Int64?
    private var counts: [String: (count: Int, clientID: String?)] = [:]

    public init(maximumAddresses: Int = 10_000) { self.maximumAddresses = maximumAddresses }

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
        let start = UnixTime(milliseconds: window * Self.windowMilliseconds)
        let end = start.adding(milliseconds: Self.windowMilliseconds)
        let events = counts.sorted { $0.key < $1.key }.map { address, entry in
            AuditEvent(.grantRefused, time: start, address: address, clientID: entry.clientID, details: [
                ("grant", "device_code"), ("reason", OAuthError.unknownDeviceCode.detail),
                ("count", "\(entry.count)"), ("until", Timestamp.iso8601(end)),
            ])
        }
        self.window = nil
        counts = [:]
        return events
    }
}
