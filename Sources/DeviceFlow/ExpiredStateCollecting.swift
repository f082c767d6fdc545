/// Garbage collection as part of the storage contract: what has expired is removed, and
/// nothing else. `now` is a parameter (no backend reads a clock of its own).
public protocol ExpiredStateCollecting: AnyObject {
    /// Removes, as of `now`:
    /// - flows that expired more than `retentionSeconds` ago (until then a late poll still gets
    ///   `expired_token`), with their user-code claims;
    /// - access tokens, refresh families and their token index past their expiry;
    /// - access-token revocations past the token's expiry, and subject revocations past their
    ///   `keepUntil`.
    ///
    /// Never removes anything live: a flow within its retention, a token, family, revocation
    /// or claim that can still be presented. Returns how many items went.
    @discardableResult
    func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int
}

/// Garbage collection of the verification page's state (`WebStateStorage`).
public protocol WebStateCollecting: AnyObject {
    /// Removes, as of `now`, sessions that have expired and counters whose window has ended;
    /// nothing else. Returns how many of each went.
    @discardableResult
    func collectExpiredWebState(now: UnixTime) -> (sessions: Int, counters: Int)
}
