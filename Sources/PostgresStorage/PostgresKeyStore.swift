import DeviceFlow

/// `SigningKeyStorage` on PostgreSQL: every host signs with the same active key and publishes
/// the same JWKS.
///
/// - `signing_keys` holds each key's metadata and its private key PEM (readable only by the
///   role that owns the tables, as the keys directory's files are 0600); `added_version` is
///   the version its activation set, so `load()` returns keys oldest first.
/// - `signing_key_version` is one row whose `version` is raised (by one, or to `now` in ms if later) in the same transaction as
///   every change. `indexVersion()` reads it, one primary-key lookup, so a worker that checks
///   once a second signs with a key rotated on any host within a second.
/// - `activate` runs in one transaction that first locks that row (`SELECT … FOR UPDATE`):
///   rotations on different hosts queue behind each other, each sees the keys the one before
///   it wrote, so none is lost, and of several hosts starting with `onlyIfNone` the first
///   creates the key and the others find it.
public final class PostgresKeyStore: SigningKeyStorage, @unchecked Sendable {
    public let connection: PostgresConnection
    private let lock = RecursiveLock()
    private var lastVersion: Int64?

    public init(connection: PostgresConnection) { self.connection = connection }

    /// Never the URL: it may hold a password.
    public var location: String { "PostgreSQL" }

    static let readVersion = PostgresStatement("keys_version", "SELECT version FROM signing_key_version WHERE one")
    static let lockVersion = PostgresStatement("keys_version_lock", "SELECT version FROM signing_key_version WHERE one FOR UPDATE")
    static let setVersion = PostgresStatement("keys_version_set", "UPDATE signing_key_version SET version = $1 WHERE one")
    static let selectKeys = PostgresStatement("keys_select", "SELECT kid, alg, created_ms, retired_ms, pem FROM signing_keys ORDER BY added_version")
    static let anyKey = PostgresStatement("keys_any", "SELECT EXISTS (SELECT 1 FROM signing_keys)")
    static let retireActive = PostgresStatement("keys_retire", "UPDATE signing_keys SET retired_ms = $1 WHERE retired_ms IS NULL")
    static let forgetRetired = PostgresStatement("keys_forget", "DELETE FROM signing_keys WHERE retired_ms < $1")
    static let insertKey = PostgresStatement("keys_insert", """
        INSERT INTO signing_keys (kid, alg, created_ms, retired_ms, pem, added_version) VALUES ($1, $2, $3, $4, $5, $6)
        """)

    /// The version row, nil before the first key (version 0). When the database cannot be
    /// read, the last version seen: the worker keeps signing with the keys it has rather than
    /// reloading into the same failure once a second (a rotation is then seen when it answers
    /// again).
    public func indexVersion() -> Int64? {
        let read = try? connection.execute(Self.readVersion).first?.int64(0)
        return lock.withLock {
            if let read { lastVersion = read > 0 ? read : nil }
            return lastVersion
        }
    }

    public func load() throws -> [StoredKey] {
        try PostgresSharedState.reportingStorageErrors {
            try connection.execute(Self.selectKeys).map { row in
                StoredKey(kid: try row.string(0), alg: try row.string(1), createdAt: UnixTime(milliseconds: try row.int64(2)),
                          retiredAt: try row.optionalInt64(3).map { UnixTime(milliseconds: $0) }, pem: try row.string(4))
            }
        }
    }

    /// Retires the active key at `now`, forgets keys retired before `forgetRetiredBefore`
    /// (the one just retired too, when `now` is before it, as the keys directory does), and
    /// adds `key`, all in one transaction under the version row's lock.
    public func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?, onlyIfNone: Bool) throws -> Bool {
        try PostgresSharedState.reportingStorageErrors {
            try connection.transaction { tx in
                guard let version = try tx.execute(Self.lockVersion).first?.int64(0) else {
                    throw PostgresError(.protocolViolation, "signing_key_version has no row")
                }
                if onlyIfNone, try tx.execute(Self.anyKey).first?[0] == "t" { return false }
                try tx.execute(Self.retireActive, [.int(now.milliseconds)])
                if let cutoff = forgetRetiredBefore { try tx.execute(Self.forgetRetired, [.int(cutoff.milliseconds)]) }
                // Never a version seen before, even by a worker that read another install's
                // (a schema dropped and made again restarts at 0): at least `now` in ms.
                let next = max(version &+ 1, now.milliseconds)  // &+: a garbled version row must not trap
                try tx.execute(Self.insertKey, [.text(key.kid), .text(key.alg), .int(key.createdAt.milliseconds),
                                                key.retiredAt.map { .int($0.milliseconds) } ?? .null, .text(key.pem), .int(next)])
                try tx.execute(Self.setVersion, [.int(next)])
                return true
            }
        }
    }
}
