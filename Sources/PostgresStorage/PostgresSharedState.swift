import DeviceFlow

// PLACEHOLDER (replaced by the pg-shared branch before anything ships): the API the rest of the
// code builds against.

/// `WebStateStorage` on PostgreSQL: sessions and attempt counters shared by every host. The
/// password-hash slots limit this host's CPU, so they stay per host: `slots` claims one (the
/// state directory's flock-ed slots).
public final class PostgresWebStateStore: WebStateStorage, WebStateCollecting, @unchecked Sendable {
    public init(connection: PostgresConnection, flows: PostgresFlowStore, slots: @escaping (_ pool: String, _ count: Int) throws -> (any SlotClaim)?) throws {
        fatalError("PostgresWebStateStore is not built yet")
    }
    public var secretKey: [UInt8] { fatalError() }
    public func saveSession(idHash: String, _ session: WebSession) throws { fatalError() }
    public func session(idHash: String) throws -> WebSession? { fatalError() }
    public func deleteSession(idHash: String) throws { fatalError() }
    public func count(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount { fatalError() }
    public func increment(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount { fatalError() }
    public func decrement(key: String, windowEnd: UnixTime) throws { fatalError() }
    public func claimSlot(pool: String, count: Int) throws -> (any SlotClaim)? { fatalError() }
    public func collectExpiredWebState(now: UnixTime) -> (sessions: Int, counters: Int) { fatalError() }
}

/// `SigningKeyStorage` on PostgreSQL: every host signs with the same active key and publishes
/// the same JWKS.
public final class PostgresKeyStore: SigningKeyStorage, @unchecked Sendable {
    public init(connection: PostgresConnection) { fatalError("PostgresKeyStore is not built yet") }
    public var location: String { fatalError() }
    public func indexVersion() -> Int64? { fatalError() }
    public func load() throws -> [StoredKey] { fatalError() }
    public func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?, onlyIfNone: Bool) throws -> Bool { fatalError() }
}

/// `FlowAdmissionCounters` on PostgreSQL: the caps on pending flows count across hosts.
public final class PostgresAdmissionCounters: FlowAdmissionCounters, @unchecked Sendable {
    public init(connection: PostgresConnection) { fatalError("PostgresAdmissionCounters is not built yet") }
    public func admit(_ keys: [AdmissionKey], expiresAt: UnixTime, lifetimeSeconds: Int, now: UnixTime) throws -> AdmissionRefusal? { fatalError() }
}

/// `UnknownCodeCounting` on PostgreSQL, one table row set per kind.
public final class PostgresUnknownCodeCounts: UnknownCodeCounting, @unchecked Sendable {
    public init(connection: PostgresConnection, kind: UnknownCredential) { fatalError("PostgresUnknownCodeCounts is not built yet") }
    public func add(address: String, clientID: String, window: Int64) throws -> [UnknownCodeCount] { fatalError() }
    public func takeDue(window: Int64) throws -> [UnknownCodeCount] { fatalError() }

    /// One table per kind: what `Telemetry.shareUnknownCredentials` counts in.
    public static func tables(connection: PostgresConnection) -> [UnknownCredential: any UnknownCodeCounting] {
        Dictionary(uniqueKeysWithValues: UnknownCredential.allCases.map { ($0, PostgresUnknownCodeCounts(connection: connection, kind: $0) as any UnknownCodeCounting) })
    }
}
