import DeviceFlow

/// `FlowStorage` and `ExpiredStateCollecting` on PostgreSQL, so that several hosts share one
/// set of flows, tokens and revocations (migration 2, `FlowTables`) and authorization codes
/// (migration 4, `AuthorizationCodeTables`).
///
/// How each promise of `FlowStorage` holds across hosts, i.e. across connections:
/// - **Exclusion.** `updateFlow`, `updateRefreshFamily` and `updateAuthorizationCode` run
///   their closure in one transaction that first locks the row (`SELECT … FOR UPDATE`); a
///   second caller on any connection waits on that row lock until the first commits, then
///   reads what it wrote. Store calls the closure makes (a redemption saves its access
///   token) run on the same connection and thread, so they join that transaction
///   (`PostgresConnection.transaction` is reentrant) and commit or roll back with the record.
/// - **Live user codes are never shared.** A claim is one row per key, written by one
///   statement that also inserts the flow: it inserts the claim, or takes over one whose flow
///   expired before the new flow was created, or does nothing (in use, nothing inserted).
///   PostgreSQL serialises two such statements on one key, so exactly one wins.
/// - **Durable before return**: every write commits before the call returns (the server's
///   `synchronous_commit`, on by default).
/// - A worker that dies mid-transaction holds nothing: the server rolls its transaction back
///   when the connection closes (or after `idle_in_transaction_session_timeout`).
///
/// Every `PostgresError` is reported as `FlowStorageError(.io, …)` (503); no message carries a
/// parameter (the server's DETAIL, which may quote a key, is dropped).
public final class PostgresFlowStore: FlowStorage, ExpiredStateCollecting, @unchecked Sendable {
    public let connection: PostgresConnection
    private let pepper: [UInt8]

    /// Loads (or creates) the install's user-code pepper from `devicegate_secrets`.
    public init(connection: PostgresConnection) throws {
        self.connection = connection
        pepper = try Self.mapped("load the user-code pepper") { try PostgresSecrets.load("user-code-pepper", connection) }
    }

    /// HMAC-SHA-256 of the canonical user code with the install's pepper, lowercase hex: the
    /// file store's construction (`FileFlowStore.userCodeKey`), so a claim copied between
    /// stores with its pepper still finds its flow.
    public func userCodeKey(forCanonicalUserCode code: String) -> String {
        Encoding.hmacSHA256Hex(key: pepper, code)
    }

    /// One statement, so it needs no transaction of its own: the claim is inserted or taken
    /// over from a flow that expired before `record.createdAt` (the file store's rule), and the
    /// flow is inserted only from the claim's RETURNING row. No row back: a live flow holds it.
    public func createFlow(_ record: DeviceFlowRecord) throws {
        let rows = try Self.mapped("create a flow", userCodeInUseOnUniqueViolation: true) {
            try connection.execute(Statements.createFlow, FlowRows.flowParameters(record, PollState(interval: record.interval)))
        }
        guard !rows.isEmpty else { throw FlowStorageError(.userCodeInUse, "user code collision") }
    }

    public func flowID(forUserCodeKey key: String) throws -> String? {
        try Self.mapped("look a user code up") { try connection.execute(Statements.claimedFlow, [.text(key)]).first?.string(0) }
    }

    /// BEGIN with the row locked and read (one round trip), the closure, at most one UPDATE
    /// (none when it returns nothing new), COMMIT: three round trips for a poll. An unknown id runs the closure with nil and writes nothing, as the
    /// other stores do.
    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        try Self.mapped("update a flow") {
            try connection.transaction(beginningWith: Statements.lockFlow, [.text(id)]) { tx, rows in
                guard let row = rows.first else {
                    return try body(nil, PollState(interval: 0)).result
                }
                let (record, poll) = try FlowRows.flow(row)
                let update = try body(record, poll)
                let newPoll = update.poll ?? poll
                if let newRecord = update.record, newRecord != record {
                    precondition(newRecord.id == id, "a flow update may not change the flow's id")
                    try tx.execute(Statements.writeFlow, FlowRows.flowParameters(newRecord, newPoll))
                } else if newPoll != poll {
                    try tx.execute(Statements.writePoll, [.text(id), FlowRows.time(newPoll.lastPollAt), .int(Int64(newPoll.interval))])
                }
                return update.result
            }
        }
    }

    /// In batches of `collectionBatch` rows a statement, each its own transaction, so no pass
    /// holds many row locks or runs into the statement timeout. Never throws: on an error it
    /// stops and returns what went so far; the next tick goes on.
    @discardableResult
    public func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int {
        let cutoff = now.adding(seconds: -Int64(retentionSeconds))
        var removed = 0
        do {
            for (statement, before) in [(Statements.collectFlows, cutoff), (Statements.collectClaims, cutoff),
                                        (Statements.collectAccessTokens, now), (Statements.collectFamilies, now),
                                        (Statements.collectRefreshTokens, now), (Statements.collectAccessTokenRevocations, now),
                                        (Statements.collectSubjectRevocations, now), (Statements.collectAuthorizationCodes, now)] {
                for _ in 0..<Self.collectionBatchesPerTable {
                    let n = Int(try connection.execute(statement, [.int(before.milliseconds)]).first?.int64(0) ?? 0)
                    removed += n
                    if n < Self.collectionBatch { break }
                }
            }
        } catch {}
        return removed
    }

    static let collectionBatch = 5_000
    static let collectionBatchesPerTable = 20

    /// What `devicegate status` shows: live flows by status, tokens, families, revocations.
    /// Flows are counted as the file store's census counts them: redeemed ones as redeemed,
    /// others past their expiry as expired, the rest by status.
    public func summary(now: UnixTime) throws -> PostgresSummary {
        try Self.mapped("summarise the flows") {
            guard let row = try connection.execute(Statements.summary, [.int(now.milliseconds)]).first else {
                throw PostgresError(.protocolViolation, "summary returned no row")
            }
            var s = PostgresSummary()
            s.pendingFlows = Int(try row.int64(0))
            s.approvedFlows = Int(try row.int64(1))
            s.deniedFlows = Int(try row.int64(2))
            s.redeemedFlows = Int(try row.int64(3))
            s.expiredFlows = Int(try row.int64(4))
            s.accessTokens = Int(try row.int64(5))
            s.refreshFamilies = Int(try row.int64(6))
            s.revocations = Int(try row.int64(7))
            return s
        }
    }

    /// Runs `body`, reporting a `PostgresError` as the storage contract does: `.io`, naming
    /// what was being done, the SQLSTATE and the server's primary message, never its DETAIL
    /// (which can quote a key value). A unique violation is `.userCodeInUse` where asked.
    @discardableResult
    static func mapped<T>(_ doing: String, userCodeInUseOnUniqueViolation: Bool = false, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as PostgresError {
            if userCodeInUseOnUniqueViolation, e.sqlState == "23505" { throw FlowStorageError(.userCodeInUse, "user code collision") }
            var reported = e
            reported.message = "\(doing): \(primaryMessage(e.message))"
            throw reported.storageError
        }
    }
}

/// The server's primary message: what libpq appends after it (DETAIL, HINT, CONTEXT, QUERY,
/// the LINE excerpt) can quote values or parameters, so it goes.
func primaryMessage(_ message: String) -> String {
    var end = message.endIndex
    for field in [" DETAIL:", " HINT:", " CONTEXT:", " QUERY:", " LINE "] {
        if let r = message.firstRange(of: field), r.lowerBound < end { end = r.lowerBound }
    }
    return String(message[..<end])
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
    /// Access-token revocations and subject revocations.
    public var revocations = 0
    public init() {}
}
