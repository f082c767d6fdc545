import DeviceFlow

/// `WebStateStorage` on PostgreSQL: sessions and attempt counters shared by every host. The
/// password-hash slots limit this host's CPU, so they stay per host: `slots` claims one (the
/// state directory's flock-ed slots).
///
/// - `secretKey` is the install's `web-secret` (`devicegate_secrets`), read once: a CSRF
///   token made on one host verifies on every other.
/// - Sessions live in `web_sessions` under SHA-256 of their id (the caller hashes; the id
///   itself never reaches the database). A session of a subject revoked at or after its
///   sign-in is deleted when read and not returned. `session(idHash:)` takes no `now`: the
///   verification page compares `expiresAt` itself and garbage collection removes it.
/// - Counters live in `web_counters`, one row per SHA-256 of the key and window end.
///   `increment` is one statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`): the
///   row lock makes every increment count once and return a count no other caller saw, on
///   any host. Rows of ended windows are never read again, only collected.
public final class PostgresWebStateStore: WebStateStorage, WebStateCollecting, @unchecked Sendable {
    public let connection: PostgresConnection
    public let secretKey: [UInt8]
    let revokedAt: (String) throws -> UnixTime?
    private let slots: (_ pool: String, _ count: Int) throws -> (any SlotClaim)?

    /// With the flow store's subject revocations (`PostgresFlowStore.subjectRevokedAt`), or
    /// `revokedAt` instead when given.
    public convenience init(connection: PostgresConnection, flows: PostgresFlowStore,
                            slots: @escaping (_ pool: String, _ count: Int) throws -> (any SlotClaim)?,
                            revokedAt: ((String) throws -> UnixTime?)? = nil) throws {
        try self.init(connection: connection, revokedAt: revokedAt ?? { try flows.subjectRevokedAt($0) }, slots: slots)
    }

    /// `revokedAt(subject)`: when `subject` was last revoked (`FlowStorage.subjectRevokedAt`).
    public init(connection: PostgresConnection, revokedAt: @escaping (String) throws -> UnixTime?,
                slots: @escaping (_ pool: String, _ count: Int) throws -> (any SlotClaim)?) throws {
        self.connection = connection
        self.revokedAt = revokedAt
        self.slots = slots
        secretKey = try PostgresSharedState.reportingStorageErrors { try PostgresSecrets.load("web-secret", connection) }
    }

    static let saveSessionStatement = PostgresStatement("web_session_save", """
        INSERT INTO web_sessions (id_hash, subject, auth_time_ms, expires_at_ms) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id_hash) DO UPDATE SET subject = EXCLUDED.subject, auth_time_ms = EXCLUDED.auth_time_ms, expires_at_ms = EXCLUDED.expires_at_ms
        """)
    static let selectSession = PostgresStatement("web_session_select", "SELECT subject, auth_time_ms, expires_at_ms FROM web_sessions WHERE id_hash = $1")
    static let deleteSessionStatement = PostgresStatement("web_session_delete", "DELETE FROM web_sessions WHERE id_hash = $1")
    static let selectCount = PostgresStatement("web_counter_select", "SELECT count FROM web_counters WHERE key_hash = $1 AND window_end_ms = $2")
    static let incrementCount = PostgresStatement("web_counter_increment", """
        INSERT INTO web_counters (key_hash, window_end_ms, count) VALUES ($1, $2, 1)
        ON CONFLICT (key_hash, window_end_ms) DO UPDATE SET count = web_counters.count + 1 RETURNING count
        """)
    static let decrementCount = PostgresStatement("web_counter_decrement",
        "UPDATE web_counters SET count = count - 1 WHERE key_hash = $1 AND window_end_ms = $2 AND count > 0")
    static let collectSessions = PostgresStatement("web_session_collect", """
        WITH gone AS (DELETE FROM web_sessions WHERE id_hash IN (
            SELECT id_hash FROM web_sessions WHERE expires_at_ms <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) FROM gone
        """)
    static let collectCounters = PostgresStatement("web_counter_collect", """
        WITH gone AS (DELETE FROM web_counters WHERE (key_hash, window_end_ms) IN (
            SELECT key_hash, window_end_ms FROM web_counters WHERE window_end_ms <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) FROM gone
        """)

    /// SHA-256 hex, as `VerificationPage` makes it; anything else is never a stored session.
    private static func isIDHash(_ s: String) -> Bool { s.utf8.count == 64 && PostgresSharedState.isLowercaseHex(s) }

    public func saveSession(idHash: String, _ session: WebSession) throws {
        precondition(Self.isIDHash(idHash))
        try PostgresSharedState.reportingStorageErrors {
            try connection.execute(Self.saveSessionStatement, [.text(idHash), .text(session.subject),
                                                               .int(session.authTime.milliseconds), .int(session.expiresAt.milliseconds)])
        }
    }

    public func session(idHash: String) throws -> WebSession? {
        guard Self.isIDHash(idHash) else { return nil }
        return try PostgresSharedState.reportingStorageErrors {
            guard let row = try connection.execute(Self.selectSession, [.text(idHash)]).first else { return nil }
            let session = WebSession(subject: try row.string(0), authTime: UnixTime(milliseconds: try row.int64(1)),
                                     expiresAt: UnixTime(milliseconds: try row.int64(2)))
            // `devicegate users remove` ends the sessions signed in at or before it.
            if let revoked = try revokedAt(session.subject), session.authTime <= revoked {
                try connection.execute(Self.deleteSessionStatement, [.text(idHash)])
                return nil
            }
            return session
        }
    }

    public func deleteSession(idHash: String) throws {
        guard Self.isIDHash(idHash) else { return }
        try PostgresSharedState.reportingStorageErrors { try connection.execute(Self.deleteSessionStatement, [.text(idHash)]) }
    }

    public func count(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        return try PostgresSharedState.reportingStorageErrors {
            let row = try connection.execute(Self.selectCount, [.text(PostgresSharedState.keyHash(key)), .int(end.milliseconds)]).first
            return WindowCount(count: Int(try row?.int64(0) ?? 0), windowEnd: end)
        }
    }

    public func increment(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        return try PostgresSharedState.reportingStorageErrors {
            guard let row = try connection.execute(Self.incrementCount, [.text(PostgresSharedState.keyHash(key)), .int(end.milliseconds)]).first else {
                throw PostgresError(.protocolViolation, "counter increment returned no row")
            }
            return WindowCount(count: Int(try row.int64(0)), windowEnd: end)
        }
    }

    /// Only the row of the window ending at `windowEnd` is touched: once a newer window has
    /// begun, nothing reads that row again, so a late decrement takes nothing back.
    public func decrement(key: String, windowEnd: UnixTime) throws {
        try PostgresSharedState.reportingStorageErrors {
            try connection.execute(Self.decrementCount, [.text(PostgresSharedState.keyHash(key)), .int(windowEnd.milliseconds)])
        }
    }

    public func claimSlot(pool: String, count: Int) throws -> (any SlotClaim)? {
        try slots(pool, count)
    }

    /// Removes what has ended by `now`: sessions with `expiresAt <= now`, counters whose
    /// window ended at or before `now`, in batches (`PostgresSharedState.collectInBatches`).
    /// A failure ends that kind's collection for this call; the next tick goes on.
    @discardableResult
    public func collectExpiredWebState(now: UnixTime) -> (sessions: Int, counters: Int) {
        (PostgresSharedState.collectInBatches(Self.collectSessions, before: .int(now.milliseconds), connection),
         PostgresSharedState.collectInBatches(Self.collectCounters, before: .int(now.milliseconds), connection))
    }
}
