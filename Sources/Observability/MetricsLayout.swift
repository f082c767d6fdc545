/// Where each counter lives in a process's counter page (`CounterPage`). Every process of one
/// build uses the same layout; `id` changes whenever the layout does, so pages written by
/// another version are reset rather than misread.
public enum MetricsLayout {
    public static let id: UInt64 = 0x6467_6D74_7263_0001  // "dgmtrc" v1

    /// The endpoints requests are counted by (the `endpoint` label).
    public enum Endpoint: Int, CaseIterable, Sendable {
        case deviceAuthorization, token, verification, userinfo, introspection, revocation
        case authCheck, discovery, jwks, metrics, other

        public var label: String {
            switch self {
            case .deviceAuthorization: return "device_authorization"
            case .token: return "token"
            case .verification: return "verification"
            case .userinfo: return "userinfo"
            case .introspection: return "introspection"
            case .revocation: return "revocation"
            case .authCheck: return "auth_check"
            case .discovery: return "discovery"
            case .jwks: return "jwks"
            case .metrics: return "metrics"
            case .other: return "other"
            }
        }
    }

    /// Statuses counted one by one; anything else is counted as `other`.
    public static let statuses: [Int] = [200, 204, 302, 303, 304, 400, 401, 403, 404, 405, 409, 410, 413, 429, 500, 503]
    static let statusSlots = statuses.count + 1

    /// Upper bounds of the latency histogram's buckets, in microseconds (`le` in seconds);
    /// the `+Inf` bucket is the request count.
    public static let bucketBoundsMicroseconds: [UInt64] = [250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 2_500_000]

    static let endpointCount = Endpoint.allCases.count
    static let requestsBase = 0
    static let bucketsBase = requestsBase + endpointCount * statusSlots
    static let sumsBase = bucketsBase + endpointCount * bucketBoundsMicroseconds.count
    static let eventsBase = sumsBase + endpointCount
    /// Room for event kinds added later without a new layout id.
    static let eventSlots = 32
    public static let auditWriteFailures = eventsBase + eventSlots
    public static let workerRestarts = auditWriteFailures + 1
    public static let storageFailures = workerRestarts + 1
    public static let count = storageFailures + 1

    public static func statusIndex(_ status: Int) -> Int { statuses.firstIndex(of: status) ?? statuses.count }

    public static func requests(_ endpoint: Endpoint, status: Int) -> Int {
        requestsBase + endpoint.rawValue * statusSlots + statusIndex(status)
    }

    /// The bucket a duration falls in, or nil above the last bound (counted only in `+Inf`).
    public static func bucket(_ endpoint: Endpoint, microseconds: UInt64) -> Int? {
        guard let b = bucketBoundsMicroseconds.firstIndex(where: { microseconds <= $0 }) else { return nil }
        return bucketsBase + endpoint.rawValue * bucketBoundsMicroseconds.count + b
    }

    public static func latencySum(_ endpoint: Endpoint) -> Int { sumsBase + endpoint.rawValue }

    public static func event(_ kind: AuditEvent.Kind) -> Int {
        eventsBase + AuditEvent.Kind.allCases.firstIndex(of: kind)!
    }

    // MARK: The census page (kept by the supervisor's garbage collector)

    public static let censusID: UInt64 = 0x6467_6365_6E73_0001  // "dgcens" v1
    /// Flow states of the census, in page order.
    public static let flowStates = ["pending", "approved", "denied", "redeemed", "expired"]
    public static let censusShards = 256
    /// Word 0: configured workers; then shards × states.
    public static let censusWorkers = 0
    public static func census(shard: Int, state: Int) -> Int { 1 + shard * flowStates.count + state }
    public static let censusCount = 1 + censusShards * flowStates.count
}
