#if canImport(Glibc)
import Glibc
#endif
import CLibPQ
import DeviceFlow

/// How a worker reaches PostgreSQL (`storage.url` and its timeouts).
public struct PostgresSettings: Sendable, Equatable {
    /// A libpq connection URI or `key=value` string; it may list several hosts
    /// (`host=a,b target_session_attrs=read-write`), as failover setups such as Patroni use.
    public var url: String
    /// libpq's `connect_timeout`, per host tried, in seconds (2 at least: libpq rounds 1 up).
    public var connectTimeoutSeconds: Int
    /// The longest any one statement, or a wait for its answer, may take (milliseconds). The
    /// server enforces it as `statement_timeout`; the client gives up waiting on the socket
    /// a little after, so a server that hangs costs a request this long, never more.
    public var statementTimeoutMilliseconds: Int
    /// After a failed connection attempt, how long requests fail at once (503) before the next
    /// attempt, so a database that is down costs each request microseconds, not a connect
    /// timeout. Short enough that a worker reconnects well within a second of it coming back.
    public var reconnectDelayMilliseconds: Int

    public init(url: String, connectTimeoutSeconds: Int = 2, statementTimeoutMilliseconds: Int = 2_000, reconnectDelayMilliseconds: Int = 200) {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.reconnectDelayMilliseconds = reconnectDelayMilliseconds
    }
}

/// A failure talking to PostgreSQL.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection (refused, timed out, lost, or waiting out the reconnect delay).
        case unavailable
        /// The server answered with an error (`sqlState` says which).
        case server
        /// The answer did not have the shape this code expects.
        case protocolViolation
    }

    public var kind: Kind
    /// The five-character SQLSTATE, for `.server` (23505 unique violation, 40001 serialization
    /// failure, 40P01 deadlock, 57014 statement timeout, …).
    public var sqlState: String?
    public var message: String

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        switch kind {
        case .unavailable: "PostgreSQL unavailable: \(message)"
        case .server: "PostgreSQL error \(sqlState ?? "?????"): \(message)"
        case .protocolViolation: "unexpected answer from PostgreSQL: \(message)"
        }
    }

    /// Worth running the whole transaction again: a serialization failure or a deadlock.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// As the storage contract reports it: every PostgreSQL failure is `.io` (503).
    public var storageError: FlowStorageError { FlowStorageError(.io, description) }
}

/// A statement prepared once per connection under `name` (PostgreSQL's server-side prepared
/// statements: parsed and planned once, then run by name with parameters).
public struct PostgresStatement: Sendable, Hashable {
    public let name: String
    public let sql: String

    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// One row of an answer, every value in PostgreSQL's text format, nil for NULL.
public struct PostgresRow: Sendable, Equatable {
    public var values: [String?]

    public init(_ values: [String?]) { self.values = values }

    public subscript(_ column: Int) -> String? { column < values.count ? values[column] : nil }

    public func string(_ column: Int) throws -> String {
        guard let v = self[column] else { throw PostgresError(.protocolViolation, "column \(column) is NULL") }
        return v
    }

    public func int64(_ column: Int) throws -> Int64 {
        guard let v = self[column], let n = Int64(v) else { throw PostgresError(.protocolViolation, "column \(column) is not an integer") }
        return n
    }

    public func optionalInt64(_ column: Int) throws -> Int64? {
        guard let v = self[column] else { return nil }
        guard let n = Int64(v) else { throw PostgresError(.protocolViolation, "column \(column) is not an integer") }
        return n
    }

    /// A `bytea` column (text format `\x` followed by hex).
    public func bytes(_ column: Int) throws -> [UInt8] {
        guard let v = self[column], let b = PostgresValue.decodeBytea(v) else { throw PostgresError(.protocolViolation, "column \(column) is not bytea") }
        return b
    }
}

/// A parameter, sent in text format.
public enum PostgresValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case bytes([UInt8])
    case null

    var text: String? {
        switch self {
        case .text(let s): return s
        case .int(let n): return String(n)
        case .bytes(let b): return "\\x" + Encoding.hex(b)
        case .null: return nil
        }
    }

    static func decodeBytea(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("\\x") else { return nil }
        return Encoding.bytes(fromHex: String(text.dropFirst(2)))
    }

}

/// One worker's connection to PostgreSQL: synchronous, like the prefork worker that owns it,
/// and never shared between threads at once (a lock serialises callers).
///
/// - Connects on first use and again after the connection is lost; after a failed attempt,
///   calls fail at once for `reconnectDelayMilliseconds`.
/// - Every statement is prepared once per connection and then run by name.
/// - No call blocks longer than about `statementTimeoutMilliseconds`: the server cancels a
///   statement at that age, and the client stops waiting for the socket shortly after and
///   drops the connection, so a server that stops answering cannot hang a worker.
/// - Each decision that must be atomic is one statement or one `transaction`; nothing rests
///   on LISTEN/NOTIFY or advisory locks.
/// - `execute` while this thread has a transaction open runs inside it.
public final class PostgresConnection: @unchecked Sendable {
    public let settings: PostgresSettings
    private var conn: OpaquePointer?
    private var prepared: Set<String> = []
    private var retryNotBefore: Int64 = 0
    private var inTransaction = false
    /// The command tag of the last statement `simple` ran ("COMMIT", "ROLLBACK", …).
    private var lastCommandTag = ""
    private let lock = RecursiveLock()
    /// Connections made so far (1 after the first; more after reconnects), for tests and status.
    public private(set) var connectCount = 0
    /// Statements run so far, for the benchmark's queries per request.
    public private(set) var statementCount = 0
    /// Round trips to the server so far (a pipeline of several statements is one; preparing a
    /// statement the first time is one more), for the tests' cost of a request.
    public private(set) var roundTripCount = 0

    public init(settings: PostgresSettings) {
        self.settings = settings
    }

    deinit {
        if let conn { PQfinish(conn) }
    }

    /// Drops the connection (after a fork, or to test reconnection).
    public func disconnect() {
        lock.withLock { dropConnection() }
    }

    /// Runs one prepared statement and returns its rows.
    @discardableResult
    public func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue] = []) throws -> [PostgresRow] {
        try lock.withLock { try run(statement, parameters) }
    }

    /// Runs `body` in one transaction (READ COMMITTED; row locks with `SELECT … FOR UPDATE`):
    /// committed when it returns, rolled back when it throws. A serialization failure or a
    /// deadlock runs it again, up to three times.
    ///
    /// Reentrant on the calling thread, as the storage contract needs (an update closure may
    /// call the store again: a redemption saves its access token under the flow's lock): a
    /// `transaction` or `execute` inside `body` joins the open transaction, so it commits or
    /// rolls back with it. Other threads wait until it ends.
    public func transaction<T>(_ body: (PostgresConnection.Transaction) throws -> T) throws -> T {
        try lock.withLock {
            if inTransaction { return try body(Transaction(connection: self)) }
            // BEGIN outside the retried part: a failed BEGIN has nothing to roll back.
            return try retryingTransaction(begin: { try simple("BEGIN"); return [] }, beginRetried: false) { _ in
                try body(Transaction(connection: self))
            }
        }
    }

    /// The attempts of one transaction, with the lock held and no transaction open: `begin`
    /// opens it (and gives the rows of a statement sent with BEGIN), `body` runs in it, then
    /// COMMIT; a throw rolls back, and a serialization failure or deadlock runs it all again,
    /// up to three times. `beginRetried`: whether a failure of `begin` itself is rolled back
    /// and retried like the rest (it is when `begin` carries the first statement).
    private func retryingTransaction<T>(begin: () throws -> [PostgresRow], beginRetried: Bool, _ body: ([PostgresRow]) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            var rows: [PostgresRow] = []
            if !beginRetried { rows = try begin() }
            do {
                if beginRetried { rows = try begin() }
                inTransaction = true
                let result = try body(rows)
                inTransaction = false
                try commit()
                return result
            } catch {
                inTransaction = false
                if conn != nil { try? simple("ROLLBACK") }
                if let e = error as? PostgresError, e.isRetryable, attempt < 3 { continue }
                throw error
            }
        }
    }

    /// A transaction in progress: its statements run on the connection that began it.
    public struct Transaction {
        let connection: PostgresConnection

        @discardableResult
        public func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue] = []) throws -> [PostgresRow] {
            try connection.run(statement, parameters)
        }

        /// SQL text with no parameters, possibly several statements (a migration).
        public func executeScript(_ sql: String) throws {
            try connection.simple(sql)
        }
    }

    /// Runs SQL text with no parameters, possibly several statements (schema migrations).
    public func executeScript(_ sql: String) throws {
        try lock.withLock { try simple(sql) }
    }

    /// `transaction`, with its first statement sent with BEGIN in one round trip (libpq's
    /// pipeline mode): what a read-modify-write under a row lock (`SELECT … FOR UPDATE`) needs
    /// first, so it costs three round trips (BEGIN and the locked read, the write, COMMIT)
    /// rather than four. `body` gets the first statement's rows. Inside an open transaction it
    /// joins it, as `transaction` does.
    public func transaction<T>(beginningWith first: PostgresStatement, _ parameters: [PostgresValue] = [],
                               _ body: (PostgresConnection.Transaction, [PostgresRow]) throws -> T) throws -> T {
        try lock.withLock {
            if inTransaction { return try body(Transaction(connection: self), try run(first, parameters)) }
            return try retryingTransaction(begin: { try beginPipelined(first, parameters) }, beginRetried: true) { rows in
                try body(Transaction(connection: self), rows)
            }
        }
    }

    // MARK: Internals (called with the lock held)

    private func connected() throws -> OpaquePointer {
        if let conn, PQstatus(conn) == CONNECTION_OK {
            if inTransaction || !Self.isStale(conn) { return conn }
            // The server closed this idle connection (a restart or failover since the last
            // request): replace it now, so this request is answered, rather than failing it.
            dropConnection()
        }
        if conn != nil { dropConnection() }
        // Lost mid-transaction (now or by an earlier statement whose error the closure caught):
        // that transaction is gone, the server rolled it back, and its row locks with it. A new
        // connection here would run the rest of the closure in autocommit, unlocked, and a
        // COMMIT on it would report success: so every statement until the transaction ends fails.
        if inTransaction { throw PostgresError(.unavailable, "connection lost during a transaction") }
        let now = Self.monotonicMilliseconds()
        guard now >= retryNotBefore else { throw PostgresError(.unavailable, "reconnecting (last attempt failed)") }
        // Defaults first, then the operator's string (expand_dbname=1: `dbname` may be a whole
        // connection string or URI), whose own settings override the defaults before it.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = [String(max(2, settings.connectTimeoutSeconds)), "devicegate", settings.url]
        let c = withArrayOfCStrings(keywords) { k in
            withArrayOfCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let c, PQstatus(c) == CONNECTION_OK else {
            let message = c.map { Self.message(PQerrorMessage($0)) } ?? "out of memory"
            if let c { PQfinish(c) }
            retryNotBefore = Self.monotonicMilliseconds() + Int64(settings.reconnectDelayMilliseconds)
            throw PostgresError(.unavailable, message)
        }
        PQsetnonblocking(c, 1)
        // NOTICEs (a DROP … CASCADE listing what it dropped, IF NOT EXISTS skipping) would go to
        // the worker's stderr through libpq's default processor: none of them is the operator's
        // business, and errors come back as results.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        conn = c
        connectCount += 1
        prepared = []
        // The server cancels any statement older than this, and ends a session left idle inside
        // a transaction (a worker that died mid-transaction holds no row lock for long).
        let idle = max(settings.statementTimeoutMilliseconds * 5, 10_000)
        do {
            try simple("SET statement_timeout = \(settings.statementTimeoutMilliseconds); SET idle_in_transaction_session_timeout = \(idle)")
        } catch {
            dropConnection()
            throw error
        }
        return c
    }

    private func dropConnection() {
        if let conn { PQfinish(conn) }
        conn = nil
        prepared = []
    }

    fileprivate func run(_ statement: PostgresStatement, _ parameters: [PostgresValue]) throws -> [PostgresRow] {
        let c = try connected()
        if !prepared.contains(statement.name) {
            let sent = statement.name.withCString { name in statement.sql.withCString { sql in PQsendPrepare(c, name, sql, 0, nil) } }
            _ = try answer(c, sent: sent == 1)
            prepared.insert(statement.name)
        }
        let texts = parameters.map(\.text)
        statementCount += 1
        let sent: Int32 = withArrayOfOptionalCStrings(texts) { values in
            statement.name.withCString { name in PQsendQueryPrepared(c, name, Int32(texts.count), values, nil, nil, 0) }
        }
        return try answer(c, sent: sent == 1)
    }

    /// COMMIT, and a check that it committed: the server answers COMMIT of a transaction it
    /// had already aborted (an error the closure caught) with the tag ROLLBACK and no error.
    private func commit() throws {
        try simple("COMMIT")
        guard lastCommandTag == "COMMIT" else {
            throw PostgresError(.server, "the transaction was rolled back (\(lastCommandTag.isEmpty ? "no command tag" : lastCommandTag)), not committed")
        }
    }

    fileprivate func simple(_ sql: String) throws {
        let c = try connected()
        statementCount += 1
        let sent = sql.withCString { PQsendQuery(c, $0) }
        _ = try answer(c, sent: sent == 1)
    }

    /// Waits for every result of the query just sent, within the deadline, and returns the
    /// rows of the last one. Drops the connection on anything but a server-side error.
    private func answer(_ c: OpaquePointer, sent: Bool) throws -> [PostgresRow] {
        guard sent else { return try lost(c) }
        roundTripCount += 1
        let deadline = Self.monotonicMilliseconds() + Int64(settings.statementTimeoutMilliseconds) + 1_000
        try flush(c, until: deadline)
        var rows: [PostgresRow] = []
        var failure: PostgresError?
        while true {
            while PQisBusy(c) == 1 {
                guard try wait(c, for: Int16(POLLIN), until: deadline) else { return try timedOut() }
                if PQconsumeInput(c) == 0 { return try lost(c) }
            }
            guard let result = PQgetResult(c) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK:
                rows = Self.rows(result)
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                rows = []
                lastCommandTag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
            case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
                failure = failure ?? Self.serverError(result)
            default:
                failure = failure ?? PostgresError(.protocolViolation, "result status \(PQresultStatus(result).rawValue)")
            }
        }
        if PQstatus(c) != CONNECTION_OK { return try lost(c) }
        if let failure { try fail(failure) }
        return rows
    }

    /// BEGIN and `statement` (prepared first if this connection has not yet) in one pipeline,
    /// one round trip; the statement's rows. On an error the caller rolls back (a BEGIN that
    /// succeeded before a failed statement leaves an aborted transaction open).
    private func beginPipelined(_ statement: PostgresStatement, _ parameters: [PostgresValue]) throws -> [PostgresRow] {
        let c = try connected()
        guard PQenterPipelineMode(c) == 1 else { throw PostgresError(.protocolViolation, "cannot enter pipeline mode") }
        let preparing = !prepared.contains(statement.name)
        var sent = true
        if preparing {
            sent = statement.name.withCString { name in statement.sql.withCString { sql in PQsendPrepare(c, name, sql, 0, nil) } } == 1
        }
        sent = sent && PQsendQueryParams(c, "BEGIN", 0, nil, nil, nil, nil, 0) == 1
        let texts = parameters.map(\.text)
        sent = sent && withArrayOfOptionalCStrings(texts) { values in
            statement.name.withCString { name in PQsendQueryPrepared(c, name, Int32(texts.count), values, nil, nil, 0) }
        } == 1
        sent = sent && PQpipelineSync(c) == 1
        statementCount += 2
        var firstSucceeded = false
        defer {
            // Prepared even when a later statement of the pipeline failed; a dropped
            // connection forgot every statement.
            if preparing, firstSucceeded, conn == c { prepared.insert(statement.name) }
        }
        return try pipelineAnswer(c, sent: sent, firstSucceeded: &firstSucceeded)
    }

    /// Reads every result of the pipeline just sent, up to its sync point, within the deadline,
    /// and leaves pipeline mode; the rows of the last statement that returned any. The first
    /// server error is thrown (what followed it was skipped: PGRES_PIPELINE_ABORTED).
    /// `firstSucceeded` says whether the pipeline's first statement did.
    private func pipelineAnswer(_ c: OpaquePointer, sent: Bool, firstSucceeded: inout Bool) throws -> [PostgresRow] {
        guard sent else { return try lost(c) }
        roundTripCount += 1
        let deadline = Self.monotonicMilliseconds() + Int64(settings.statementTimeoutMilliseconds) + 1_000
        try flush(c, until: deadline)
        var rows: [PostgresRow] = []
        var failure: PostgresError?
        var synced = false
        var emptyInARow = 0
        var first = true
        while !synced {
            while PQisBusy(c) == 1 {
                guard try wait(c, for: Int16(POLLIN), until: deadline) else { return try timedOut() }
                if PQconsumeInput(c) == 0 { return try lost(c) }
            }
            guard let result = PQgetResult(c) else {
                // The end of one statement's results; a run of them with nothing between
                // would be a libpq state this code does not know.
                emptyInARow += 1
                if emptyInARow > 8 { dropConnection(); throw PostgresError(.protocolViolation, "pipeline returned no sync point") }
                continue
            }
            emptyInARow = 0
            defer { PQclear(result) }
            if first {
                first = false
                firstSucceeded = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK
            }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_SYNC: synced = true
            case PGRES_TUPLES_OK: rows = Self.rows(result)
            case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_PIPELINE_ABORTED: break
            case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
                failure = failure ?? Self.serverError(result)
            default:
                failure = failure ?? PostgresError(.protocolViolation, "result status \(PQresultStatus(result).rawValue)")
            }
        }
        if PQstatus(c) != CONNECTION_OK { return try lost(c) }
        guard PQexitPipelineMode(c) == 1 else { dropConnection(); throw PostgresError(.protocolViolation, "cannot leave pipeline mode") }
        if let failure { try fail(failure) }
        return rows
    }

    /// Sends what libpq buffered of the query (non-blocking mode), within the deadline.
    private func flush(_ c: OpaquePointer, until deadline: Int64) throws {
        while true {
            let f = PQflush(c)
            if f == 0 { return }
            if f < 0 { throw lostError(c) }
            guard try wait(c, for: Int16(POLLOUT | POLLIN), until: deadline) else { _ = try timedOut(); return }
            if PQconsumeInput(c) == 0 { throw lostError(c) }
        }
    }

    private func wait(_ c: OpaquePointer, for events: Int16, until deadline: Int64) throws -> Bool {
        let fd = PQsocket(c)
        guard fd >= 0 else { throw lostError(c) }
        while true {
            let remaining = deadline - Self.monotonicMilliseconds()
            if remaining <= 0 { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(remaining, Int64(Int32.max))))
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { throw lostError(c) }
        }
    }

    /// Losing an established connection sets no reconnect delay (only a failed attempt to
    /// connect does): the next request tries at once, so a worker is back as soon as the
    /// server is.
    private func lostError(_ c: OpaquePointer) -> PostgresError {
        let message = Self.message(PQerrorMessage(c))
        dropConnection()
        return PostgresError(.unavailable, message.isEmpty ? "connection lost" : message)
    }

    /// Whether an idle connection may have been closed by the server: with no query
    /// outstanding nothing should be readable, so a readable socket is almost always an EOF
    /// or the server's last message before it closed (57P01 on a shutdown or a terminated
    /// backend). The rare harmless case (a NOTICE or a ParameterStatus after the server
    /// reloaded its configuration) costs one needless reconnection. One `poll` with a zero
    /// timeout, about a microsecond.
    private static func isStale(_ c: OpaquePointer) -> Bool {
        let fd = PQsocket(c)
        guard fd >= 0 else { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) != 0
    }

    private func lost(_ c: OpaquePointer) throws -> [PostgresRow] { throw lostError(c) }

    private func timedOut() throws -> [PostgresRow] {
        // The server did not answer in time: the connection's state is unknown, so it goes.
        dropConnection()
        throw PostgresError(.unavailable, "no answer within \(settings.statementTimeoutMilliseconds) ms")
    }

    private static func rows(_ result: OpaquePointer) -> [PostgresRow] {
        let n = PQntuples(result), columns = PQnfields(result)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(n))
        for r in 0..<n {
            var values: [String?] = []
            values.reserveCapacity(Int(columns))
            for f in 0..<columns {
                values.append(PQgetisnull(result, r, f) == 1 ? nil : String(cString: PQgetvalue(result, r, f)))
            }
            rows.append(PostgresRow(values))
        }
        return rows
    }

    /// The error a failed result reports: its SQLSTATE and primary message.
    private static func serverError(_ result: OpaquePointer) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        return PostgresError(.server, primaryMessage(result), sqlState: state)
    }

    /// Throws a server's error, first dropping the connection when the error says the session
    /// is ending: the server's own statement_timeout leaves the connection fine, but a shutdown
    /// (57P01, 57P02, 57P03) or a connection error (08…) is not worth keeping.
    private func fail(_ failure: PostgresError) throws -> Never {
        if let s = failure.sqlState, s.hasPrefix("57P") || s.hasPrefix("08") { dropConnection() }
        throw failure
    }

    /// The server's primary message only (PG_DIAG_MESSAGE_PRIMARY): the DETAIL, HINT, CONTEXT
    /// and QUERY fields can quote the values of a row ("Failing row contains (…)"): a subject,
    /// a client address, a key's PEM. None of that may reach a log line.
    private static func primaryMessage(_ result: OpaquePointer) -> String {
        if let m = PQresultErrorField(result, Int32(UInt8(ascii: "M"))) { return message(m) }
        return "server error"
    }

    private static func message(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "" }
        var s = String(cString: p)
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s.replacingNewlines()
    }

    static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

extension String {
    /// libpq's multi-line messages ("…\nDETAIL: …") as one log-friendly line.
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" ? " " : $0 })
    }
}

/// A recursive pthread mutex around the one connection of a process: the thread that holds
/// an open transaction may call in again (no Foundation in this module).
final class RecursiveLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

private func withArrayOfCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withArrayOfOptionalCStrings(strings.map { Optional($0) }) { body($0) }
}

private func withArrayOfOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    // NULL-terminated, and never empty, so baseAddress is never nil.
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil } + [nil]
    defer { for p in copies { free(p) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
