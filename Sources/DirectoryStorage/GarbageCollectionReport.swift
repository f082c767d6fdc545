import DeviceFlow

/// What one garbage-collection pass removed.
public struct GarbageCollectionReport: Sendable, Equatable, CustomStringConvertible {
    public var flows = 0
    public var codes = 0
    public var tokens = 0
    /// Authorization codes past `AuthorizationCodeRecord.collectableAt`.
    public var authorizationCodes = 0
    public var temporaryFiles = 0
    /// Grant-index entries whose family expired or is gone (`GrantIndex.compact`).
    public var grantEntries = 0
    /// Live families found without a grant-index entry (written by an older worker) and
    /// added to their subject's index (`GrantIndex.ensureIndexed`).
    public var grantEntriesAdded = 0
    public var orphanLocks = 0
    /// Expired flows whose lock was held at that moment; a later pass removes them.
    public var busy = 0
    public var unreadable = 0
    /// Files left as they were this pass because a read or write failed (EIO, EMFILE,
    /// EACCES, an index over its size limit): never taken for absence. The first few errors
    /// are kept in `errorMessages` for the operator.
    public var errors = 0
    public var errorMessages: [String] = []
    static let keptErrorMessages = 4
    /// The flows left in the shards visited, by state: the metrics' flow gauge.
    public var census = FlowCensus()

    public init() {}

    /// Counts a failure that left a file as it was, keeping its text if it is one of the first.
    mutating func recordError(_ message: String) {
        errors += 1
        if errorMessages.count < Self.keptErrorMessages { errorMessages.append(message) }
    }

    public static func += (lhs: inout GarbageCollectionReport, rhs: GarbageCollectionReport) {
        lhs.flows += rhs.flows; lhs.codes += rhs.codes; lhs.tokens += rhs.tokens
        lhs.authorizationCodes += rhs.authorizationCodes
        lhs.temporaryFiles += rhs.temporaryFiles; lhs.grantEntries += rhs.grantEntries; lhs.orphanLocks += rhs.orphanLocks
        lhs.busy += rhs.busy; lhs.unreadable += rhs.unreadable; lhs.grantEntriesAdded += rhs.grantEntriesAdded
        lhs.errors += rhs.errors
        lhs.errorMessages += rhs.errorMessages.prefix(max(0, keptErrorMessages - lhs.errorMessages.count))
        lhs.census += rhs.census
    }

    public var description: String {
        let text = "removed \(flows) flows, \(codes) user-code entries, \(tokens) tokens, \(authorizationCodes) authorization codes, \(grantEntries) grant-index entries, \(temporaryFiles) temp files, \(orphanLocks) orphan locks; added \(grantEntriesAdded) grant-index entries; \(busy) busy, \(unreadable) unreadable, \(errors) errors"
        return errorMessages.isEmpty ? text : text + " (" + errorMessages.joined(separator: "; ") + ")"
    }
}

/// Flows by state, as `devicegate status` and the metrics count them: a redeemed flow is
/// redeemed, any other past its expiry is expired.
public struct FlowCensus: Sendable, Equatable {
    public var pending = 0, approved = 0, denied = 0, redeemed = 0, expired = 0

    public init() {}

    public mutating func count(_ record: DeviceFlowRecord, now: UnixTime) {
        switch record.status {
        case .redeemed: redeemed += 1
        case _ where record.isExpired(at: now): expired += 1
        case .pending: pending += 1
        case .approved: approved += 1
        case .denied: denied += 1
        }
    }

    public static func += (lhs: inout FlowCensus, rhs: FlowCensus) {
        lhs.pending += rhs.pending; lhs.approved += rhs.approved; lhs.denied += rhs.denied
        lhs.redeemed += rhs.redeemed; lhs.expired += rhs.expired
    }
}
