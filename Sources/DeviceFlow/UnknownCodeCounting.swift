/// One address's unknown device codes in one minute (window: Unix minutes).
public struct UnknownCodeCount: Sendable, Equatable {
    public var address: String
    /// nil once codes of more than one client were counted.
    public var clientID: String?
    public var count: Int64
    public var window: Int64

    public init(address: String, clientID: String?, count: Int64, window: Int64) {
        self.address = address
        self.clientID = clientID
        self.count = count
        self.window = window
    }
}

/// Unknown device codes per address and minute, shared by every worker and the supervisor of
/// a host, so that the audit log gets one line per address a minute however many workers
/// answered (the file store's `FileUnknownCodeCounts`).
///
/// Promises: no count is lost or counted twice, under any concurrency; a count of an ended
/// minute is handed back exactly once, by `add` (when its entry is reused) or by `takeDue`.
public protocol UnknownCodeCounting: AnyObject {
    /// Counts one unknown code; returns counts of ended minutes that had to make room.
    func add(address: String, clientID: String, window: Int64) throws -> [UnknownCodeCount]
    /// Every count of a minute before `window`, removed.
    func takeDue(window: Int64) throws -> [UnknownCodeCount]
}
