/// A wall-clock instant in milliseconds since the Unix epoch.
///
/// Shared state holds wall-clock time, never a monotonic instant: a monotonic reading means
/// nothing in another process. Every decision takes `now` as a parameter so tests step a
/// manual clock instead of sleeping.
public struct UnixTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    /// Whole seconds since the epoch (rounded down), as JWT `iat`/`exp` and `auth_time` want.
    public var seconds: Int64 { milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000 }

    public func adding(seconds: Int64) -> UnixTime { UnixTime(milliseconds: milliseconds + seconds * 1000) }
    public func adding(milliseconds ms: Int64) -> UnixTime { UnixTime(milliseconds: milliseconds + ms) }

    /// Milliseconds from `earlier` to `self` (negative when `earlier` is later).
    public func milliseconds(since earlier: UnixTime) -> Int64 { milliseconds - earlier.milliseconds }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool { lhs.milliseconds < rhs.milliseconds }
    public var description: String { "\(milliseconds)ms" }
}

/// The source of "now". Production reads the system clock; tests inject a manual one.
public protocol WallClock: Sendable {
    func now() -> UnixTime
}
