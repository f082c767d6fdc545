#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import PostgresStorage

/// PostgreSQL for the tests: `DEVICEGATE_TEST_POSTGRES_URL` (set by deploy/test.sh, which
/// starts a throwaway cluster with deploy/postgres-test-cluster.sh) names a database; each
/// `TestPostgres` is a fresh schema in it, migrated to the current version, dropped again by
/// `remove()`. Without the variable the PostgreSQL cases of the suites are not run.
public final class TestPostgres: @unchecked Sendable {
    public static var baseURL: String? {
        guard let p = getenv("DEVICEGATE_TEST_POSTGRES_URL") else { return nil }
        let url = String(cString: p)
        return url.isEmpty ? nil : url
    }

    public static var isAvailable: Bool { baseURL != nil }

    /// The printed micro-benchmarks run only when asked (`DEVICEGATE_BENCHMARKS=1`) and a
    /// cluster is there: they measure, they test nothing, and CI has no use for their figures.
    public static var benchmarksEnabled: Bool {
        guard isAvailable, let p = getenv("DEVICEGATE_BENCHMARKS") else { return false }
        return String(cString: p) == "1"
    }

    /// The schema's name (`t_` and 16 random hex digits).
    public let schema: String
    /// A URI whose connections see only this schema (`options=-csearch_path=…`).
    public let settings: PostgresSettings
    private let admin: PostgresConnection

    /// A fresh, migrated schema; nil without `DEVICEGATE_TEST_POSTGRES_URL`.
    public init?(migrate: Bool = true) throws {
        guard let base = Self.baseURL else { return nil }
        schema = "t_" + Encoding.hex(SystemSecureRandom().bytes(8))
        admin = PostgresConnection(settings: PostgresSettings(url: base))
        try admin.executeScript("CREATE SCHEMA \(schema)")
        let separator = base.contains("?") ? "&" : "?"
        settings = PostgresSettings(url: base + separator + "options=-csearch_path%3D\(schema)")
        if migrate { try PostgresSchema.migrate(connection()) }
    }

    /// A new connection to the schema, as another worker or host would open.
    public func connection() -> PostgresConnection { PostgresConnection(settings: settings) }

    public func remove() {
        try? admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}
