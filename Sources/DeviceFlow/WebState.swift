/// A signed-in person on the verification page, kept server-side. The browser holds only a
/// random session id; the store holds SHA-256 of it, so a copy of the state directory cannot
/// be replayed as a cookie.
public struct WebSession: Sendable, Equatable {
    /// The subject approvals are bound to (the username).
    public var subject: String
    /// When the person proved who they are (OIDC `auth_time`).
    public var authTime: UnixTime
    public var expiresAt: UnixTime

    public init(subject: String, authTime: UnixTime, expiresAt: UnixTime) {
        self.subject = subject
        self.authTime = authTime
        self.expiresAt = expiresAt
    }
}

/// A fixed-window counter reading: how many events fell in the current window, and when the
/// window ends (the earliest moment a refused caller may try again).
public struct WindowCount: Sendable, Equatable {
    public var count: Int
    public var windowEnd: UnixTime

    public init(count: Int, windowEnd: UnixTime) {
        self.count = count
        self.windowEnd = windowEnd
    }

    /// The window `[start, start + length)` that holds `now`, windows aligned to the epoch so
    /// every worker agrees on them without talking.
    public static func windowEnd(now: UnixTime, seconds: Int) -> UnixTime {
        let length = Int64(max(1, seconds)) * 1000
        let start = now.milliseconds - ((now.milliseconds % length) + length) % length
        return UnixTime(milliseconds: start + length)
    }
}

/// What the verification page keeps in the state directory besides flows: sessions and the
/// counters of failed attempts (RFC 8628 §5.1). Shared by every worker of a host
/// (`FileWebStateStore`; `MemoryWebStateStore` in the tests; both pass the conformance suite).
///
/// Promises: counts are exact under any concurrency (every `increment` is counted once and
/// returns a count no other caller saw); a slot is held by one claimant at a time; a session
/// of a subject revoked after it was signed in (`FlowStorage.revokeSubject`) is not returned.
public protocol WebStateStorage: AnyObject {
    /// 32 secret bytes of this state directory, for CSRF tokens (HMAC keys derive from it).
    var secretKey: [UInt8] { get }

    /// Stores a new session under SHA-256(session id), lowercase hex.
    func saveSession(idHash: String, _ session: WebSession) throws
    func session(idHash: String) throws -> WebSession?
    func deleteSession(idHash: String) throws
    /// Every session the store holds (expired ones until collected; none a subject revocation
    /// ended), with its id hash; only `subject`'s when one is
    /// given. Operator commands only (`devicegate sessions`): it may read every entry.
    func sessions(subject: String?) throws -> [(idHash: String, session: WebSession)]

    /// The count of `key` in the fixed window of `windowSeconds` that holds `now`.
    func count(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount
    /// Adds one to `key` in the current window, under an exclusive lock shared by every
    /// process, and returns the new count.
    func increment(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount
    /// Takes back one that `increment` added in the window ending at `windowEnd` (an attempt
    /// counted ahead that turned out not to be a failure); nothing once that window is over.
    func decrement(key: String, windowEnd: UnixTime) throws

    /// Claims one of `count` slots of `pool` shared by every process of the host, without
    /// waiting; nil while all of them are held. The slot is free again when the claim is
    /// released or dropped, or its process dies.
    func claimSlot(pool: String, count: Int) throws -> (any SlotClaim)?
}

/// One held slot of a host-wide pool (`WebStateStorage.claimSlot`).
public protocol SlotClaim: AnyObject {
    func release()
}
