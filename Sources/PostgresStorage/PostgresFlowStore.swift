import DeviceFlow

// PLACEHOLDER (replaced by the pg-flows branch before anything ships): the API the rest of the
// code builds against.

/// `FlowStorage` and `ExpiredStateCollecting` on PostgreSQL.
public final class PostgresFlowStore: FlowStorage, ExpiredStateCollecting, @unchecked Sendable {
    public let connection: PostgresConnection

    /// Loads (or creates) the install's user-code pepper from `devicegate_secrets`.
    public init(connection: PostgresConnection) throws {
        self.connection = connection
        fatalError("PostgresFlowStore is not built yet")
    }

    public func userCodeKey(forCanonicalUserCode code: String) -> String { fatalError() }
    public func createFlow(_ record: DeviceFlowRecord) throws { fatalError() }
    public func flowID(forUserCodeKey key: String) throws -> String? { fatalError() }
    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R { fatalError() }
    public func saveAccessToken(_ record: AccessTokenRecord) throws { fatalError() }
    public func accessToken(hash: String) throws -> AccessTokenRecord? { fatalError() }
    public func createRefreshFamily(_ family: RefreshFamily) throws { fatalError() }
    public func refreshFamilyID(forTokenHash hash: String) throws -> String? { fatalError() }
    public func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R { fatalError() }
    public func revokeAccessToken(id: String, expiresAt: UnixTime) throws { fatalError() }
    public func isAccessTokenRevoked(id: String) throws -> Bool { fatalError() }
    public func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws { fatalError() }
    public func subjectRevokedAt(_ subject: String) throws -> UnixTime? { fatalError() }
    public func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int { fatalError() }

    /// What `devicegate status` shows: live flows by status, tokens, families, revocations.
    public func summary(now: UnixTime) throws -> PostgresSummary { fatalError() }
}

/// Counts for `devicegate status` on PostgreSQL.
public struct PostgresSummary: Sendable, Equatable {
    public var pendingFlows = 0
    public var approvedFlows = 0
    public var deniedFlows = 0
    public var redeemedFlows = 0
    public var expiredFlows = 0
    public var accessTokens = 0
    public var refreshFamilies = 0
    public var revocations = 0
    public init() {}
}
