import DeviceFlow

/// The schema devicegate keeps in PostgreSQL, as numbered migrations. `devicegate db migrate`
/// applies the missing ones; `serve` refuses to start unless the database is at exactly
/// `PostgresSchema.version`.
///
/// Tables live in the connection's `search_path` (unqualified names), so one database can
/// hold several installs, or the tests' throwaway schemas, side by side.
public enum PostgresSchema {
    public struct Migration: Sendable {
        public let version: Int
        public let summary: String
        public let sql: String
    }

    /// Every migration, oldest first. Append only: a released migration is never edited.
    public static let migrations: [Migration] = [
        Migration(version: 1, summary: "the schema's own version and the install's secrets", sql: """
            CREATE TABLE IF NOT EXISTS devicegate_secrets (
                name text PRIMARY KEY,
                value bytea NOT NULL
            );
            """),
        Migration(version: 2, summary: "flows, user-code claims, tokens, refresh families, revocations", sql: FlowTables.sql),
        Migration(version: 3, summary: "sessions, attempt counters, signing keys, admission and unknown-code counters", sql: SharedStateTables.sql),
        Migration(version: 4, summary: "authorization codes", sql: AuthorizationCodeTables.sql),
        Migration(version: 5, summary: "requesters of flows and refresh families, last use, families by subject", sql: RequesterColumns.sql),
    ]

    /// The version this binary reads and writes.
    public static var version: Int { migrations.last!.version }

    /// What the database holds, against `version`.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        /// No devicegate schema in the search path.
        case missing
        /// Older than this binary: `devicegate db migrate` brings it up to date.
        case older(Int)
        case current
        /// Written by a newer devicegate: this binary must not touch it.
        case newer(Int)

        public var description: String {
            switch self {
            case .missing: "no devicegate schema (run `devicegate db migrate -c FILE`)"
            case .older(let v): "schema version \(v), older than this binary's \(PostgresSchema.version) (run `devicegate db migrate -c FILE`)"
            case .current: "schema version \(PostgresSchema.version), current"
            case .newer(let v): "schema version \(v), newer than this binary's \(PostgresSchema.version): upgrade devicegate first"
            }
        }
    }

    static let readVersion = PostgresStatement("schema_version", "SELECT version FROM devicegate_schema")
    static let tableExists = PostgresStatement("schema_table_exists", "SELECT to_regclass('devicegate_schema') IS NOT NULL")

    public static func status(_ connection: PostgresConnection) throws -> Status {
        guard try connection.execute(tableExists).first?[0] == "t" else { return .missing }
        guard let row = try connection.execute(readVersion).first else { return .missing }
        let v = Int(try row.int64(0))
        if v < version { return .older(v) }
        if v > version { return .newer(v) }
        return .current
    }

    /// Applies every missing migration, each in its own transaction with the version row.
    /// Safe when several hosts run it at once: the version table is created with
    /// `IF NOT EXISTS` and its one row is locked (`FOR UPDATE`) for the whole migration, so
    /// the second waits and then finds nothing left to do. Returns the versions before and
    /// after. Refuses a schema newer than this binary.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection) throws -> (from: Int, to: Int) {
        // Two hosts creating the table at the same instant: `IF NOT EXISTS` does not cover the
        // race (the loser fails with 23505 on pg_type, 42P07 or 42710) once the winner commits, so the
        // loser runs it again and finds the table.
        try bootstrapRetryingCreationRace(connection)
        let lockVersion = PostgresStatement("schema_lock_version", "SELECT version FROM devicegate_schema WHERE one FOR UPDATE")
        let setVersion = PostgresStatement("schema_set_version", "UPDATE devicegate_schema SET version = $1 WHERE one")
        return try connection.transaction { tx in
            guard let row = try tx.execute(lockVersion).first else { throw PostgresError(.protocolViolation, "devicegate_schema has no row") }
            let from = Int(try row.int64(0))
            guard from <= version else { throw PostgresError(.server, Status.newer(from).description) }
            for m in migrations where m.version > from {
                try tx.executeScript(m.sql)
            }
            try tx.execute(setVersion, [.int(Int64(version))])
            return (from, version)
        }
    }
}

extension PostgresSchema {
    /// The version table and its row, created if absent.
    static func bootstrapRetryingCreationRace(_ connection: PostgresConnection) throws {
        for attempt in 1...2 {
            do {
                try connection.executeScript("""
                    CREATE TABLE IF NOT EXISTS devicegate_schema (
                        one boolean PRIMARY KEY DEFAULT true CHECK (one),
                        version integer NOT NULL
                    );
                    INSERT INTO devicegate_schema (one, version) VALUES (true, 0) ON CONFLICT (one) DO NOTHING;
                    """)
                return
            } catch let error as PostgresError where attempt == 1 && ["23505", "42P07", "42710"].contains(error.sqlState ?? "") {
                continue
            }
        }
    }
}

/// A secret of the install shared by every host (the user-code pepper, the web secret that
/// signs CSRF tokens): created once, by whichever host asks first, and read by all.
public enum PostgresSecrets {
    static let insert = PostgresStatement("secret_insert", "INSERT INTO devicegate_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
    static let select = PostgresStatement("secret_select", "SELECT value FROM devicegate_secrets WHERE name = $1")

    /// The 32-byte secret `name`, created from the system's CSPRNG if absent.
    public static func load(_ name: String, _ connection: PostgresConnection, random: any SecureRandom = SystemSecureRandom()) throws -> [UInt8] {
        try connection.execute(insert, [.text(name), .bytes(random.bytes(32))])
        guard let row = try connection.execute(select, [.text(name)]).first else {
            throw PostgresError(.protocolViolation, "secret \(name) vanished")
        }
        let value = try row.bytes(0)
        guard value.count == 32 else { throw FlowStorageError(.corrupt, "secret \(name) in devicegate_secrets is \(value.count) bytes, not 32") }
        return value
    }
}
