#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// The connection and the schema, against the throwaway cluster (`DEVICEGATE_TEST_POSTGRES_URL`).
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresConnectionTests {
    @Test func parametersAndBytesRoundTripInTextFormat() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection()
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x22]
        let row = try #require(try c.execute(PostgresStatement("echo", "SELECT $1::text, $2::bigint, $3::bytea, $4::text"),
                                             [.text("a'b\"c\\ é"), .int(-42), .bytes(bytes), .null]).first)
        #expect(row[0] == "a'b\"c\\ é")
        #expect(try row.int64(1) == -42)
        #expect(try row.bytes(2) == bytes)
        #expect(row[3] == nil)
    }

    @Test func migrationIsIdempotentAndReportsTheVersion() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection()
        #expect(try PostgresSchema.status(c) == .missing)
        let first = try PostgresSchema.migrate(c)
        #expect(first.from == 0 && first.to == PostgresSchema.version)
        #expect(try PostgresSchema.status(c) == .current)
        let second = try PostgresSchema.migrate(pg.connection())
        #expect(second.from == PostgresSchema.version && second.to == PostgresSchema.version)
    }

    /// Two hosts running `db migrate` at the same instant: one migrates, the other waits on the
    /// version row and then finds nothing to do; neither fails.
    @Test func concurrentMigrationsBothSucceed() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let connections = (0..<4).map { _ in pg.connection() }
        let froms = Tally(), failures = Tally()
        onThreads(connections.count) { i in
            do { froms.add(try PostgresSchema.migrate(connections[i]).from) } catch { failures.add(i) }
        }
        #expect(failures.all.isEmpty)
        #expect(froms.all.sorted() == [0] + Array(repeating: PostgresSchema.version, count: connections.count - 1), "exactly one migrated")
        #expect(try PostgresSchema.status(pg.connection()) == .current)
    }

    @Test func aNewerSchemaIsRefused() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        try c.executeScript("UPDATE devicegate_schema SET version = \(PostgresSchema.version + 1)")
        #expect(try PostgresSchema.status(c) == .newer(PostgresSchema.version + 1))
        #expect(throws: PostgresError.self) { try PostgresSchema.migrate(c) }
    }

    @Test func secretsAreCreatedOnceAndSharedByEveryConnection() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try PostgresSecrets.load("pepper", pg.connection())
        let b = try PostgresSecrets.load("pepper", pg.connection())
        #expect(a.count == 32 && a == b)
        #expect(try PostgresSecrets.load("web", pg.connection()) != a)
    }

    /// A dead server answers `.unavailable` at once, and for the reconnect delay nothing is
    /// tried; a lost connection is replaced on the next call.
    @Test func unavailableFailsFastAndReconnects() throws {
        let dead = PostgresConnection(settings: PostgresSettings(url: "postgresql://devicegate@127.0.0.1:1/devicegate", reconnectDelayMilliseconds: 60_000))
        do {
            try dead.execute(PostgresStatement("one", "SELECT 1"))
            Issue.record("a dead server answered")
        } catch let e as PostgresError {
            #expect(e.kind == .unavailable && e.message.contains("refused"), "\(e)")
        }
        do {
            try dead.execute(PostgresStatement("one", "SELECT 1"))
            Issue.record("a dead server answered")
        } catch let e as PostgresError {
            #expect(e.kind == .unavailable && e.message.contains("reconnecting"))
        }
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection()
        try c.execute(PostgresStatement("one", "SELECT 1"))
        c.disconnect()
        try c.execute(PostgresStatement("one", "SELECT 1"))
        #expect(c.connectCount == 2)
    }

    /// A statement that runs past the statement timeout is cancelled by the server and
    /// reported; the connection stays usable.
    @Test func aSlowStatementIsCancelledAtTheTimeout() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        var settings = pg.settings
        settings.statementTimeoutMilliseconds = 200
        let c = PostgresConnection(settings: settings)
        do {
            try c.execute(PostgresStatement("sleep", "SELECT pg_sleep(5)"))
            Issue.record("pg_sleep(5) returned")
        } catch let e as PostgresError {
            #expect(e.sqlState == "57014", "\(e)")
        }
        #expect(try c.execute(PostgresStatement("one", "SELECT 1")).first?[0] == "1")
    }

    @Test func aFailedTransactionLeavesNothing() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection()
        try c.executeScript("CREATE TABLE t (k text PRIMARY KEY)")
        let insert = PostgresStatement("ins", "INSERT INTO t VALUES ($1)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try c.transaction { tx in
                try tx.execute(insert, [.text("a")])
                throw Stop()
            }
        }
        #expect(throws: PostgresError.self) {
            try c.transaction { tx in
                try tx.execute(insert, [.text("b")])
                try tx.execute(insert, [.text("b")])
            }
        }
        #expect(try c.execute(PostgresStatement("count", "SELECT count(*) FROM t")).first?[0] == "0")
    }
    /// A failover URI (Patroni and the like) that lists a dead host before the live one, with
    /// `target_session_attrs=read-write`: libpq skips the dead one and the store works.
    @Test func aDeadHostBeforeTheLiveOneInTheURIIsSkipped() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        // postgresql://user:password@127.0.0.1:PORT/db?options=… → …@127.0.0.1:1,127.0.0.1:PORT/db?…
        let url = pg.settings.url
        let at = try #require(url.range(of: "@127.0.0.1:"))
        let multi = url.replacingCharacters(in: at, with: "@127.0.0.1:1,127.0.0.1:") + "&target_session_attrs=read-write"
        let c = PostgresConnection(settings: PostgresSettings(url: multi))
        #expect(try PostgresSchema.status(c) == .current)
        #expect(try c.execute(PostgresStatement("primary", "SELECT NOT pg_is_in_recovery()")).first?[0] == "t")
    }
    /// A connection the server closed while it sat idle (a restart, a failover, an admin's
    /// pg_terminate_backend) is replaced before the next statement, which succeeds: a worker
    /// idle through a database restart answers its first request, not a 503.
    @Test func anIdleConnectionClosedByTheServerIsReplacedBeforeTheNextStatement() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection(), admin = pg.connection()
        let pid = try #require(try c.execute(PostgresStatement("pid", "SELECT pg_backend_pid()")).first?[0])
        #expect(try admin.execute(PostgresStatement("kill", "SELECT pg_terminate_backend($1::int)"), [.text(pid)]).first?[0] == "t")
        usleep(200_000)  // the server's FATAL message and FIN reach the idle socket
        #expect(try c.execute(PostgresStatement("one", "SELECT 1")).first?[0] == "1")
        #expect(c.connectCount == 2)
    }
    /// A closure that catches a server error inside a transaction (the transaction is then
    /// aborted) and returns normally: COMMIT answers ROLLBACK without an error, which must
    /// not be taken for a commit.
    @Test func aCommitOfAnAbortedTransactionIsAnError() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection()
        try c.executeScript("CREATE TABLE t (k text PRIMARY KEY); INSERT INTO t VALUES ('a')")
        let insert = PostgresStatement("ins", "INSERT INTO t VALUES ($1)")
        #expect(throws: PostgresError.self) {
            try c.transaction { tx in
                try tx.execute(insert, [.text("b")])
                _ = try? tx.execute(insert, [.text("a")])  // 23505: the transaction is aborted
            }
        }
        #expect(try c.execute(PostgresStatement("count", "SELECT count(*) FROM t")).first?[0] == "1")
    }

    /// The connection is lost inside a transaction and the closure catches that error: every
    /// later statement of the closure fails too (none runs unlocked in autocommit on a new
    /// connection), and nothing of the transaction is written.
    @Test func aConnectionLostInsideATransactionFailsTheRestOfIt() throws {
        let pg = try #require(try TestPostgres(migrate: false))
        defer { pg.remove() }
        let c = pg.connection(), admin = pg.connection()
        try c.executeScript("CREATE TABLE t (k text PRIMARY KEY)")
        let insert = PostgresStatement("ins", "INSERT INTO t VALUES ($1)")
        let pid = try #require(try c.execute(PostgresStatement("pid", "SELECT pg_backend_pid()")).first?[0])
        var later: (any Error)?
        #expect(throws: PostgresError.self) {
            try c.transaction { tx in
                try tx.execute(insert, [.text("a")])
                try admin.execute(PostgresStatement("kill", "SELECT pg_terminate_backend($1::int, 5000)"), [.text(pid)])
                _ = try? tx.execute(PostgresStatement("one", "SELECT 1"))  // lost: caught
                do { try tx.execute(insert, [.text("b")]) } catch { later = error; throw error }
            }
        }
        #expect(later != nil, "a statement after the lost connection ran")
        #expect(try c.execute(PostgresStatement("count", "SELECT count(*) FROM t")).first?[0] == "0")
    }
}
