import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// Migration 5 (`RequesterColumns`) on an install at version 4 that holds rows: they keep
/// reading, with the new fields nil, and the new fields are written and read from then on.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresRequesterMigrationTests {
    /// Takes a current schema back to version 4: migration 5's columns (with their checks)
    /// and index dropped.
    static let undoMigrationFive = """
        ALTER TABLE flows DROP COLUMN requester_address, DROP COLUMN requester_agent;
        ALTER TABLE refresh_families DROP COLUMN requester_address, DROP COLUMN requester_agent,
            DROP COLUMN last_used_ms, DROP COLUMN last_used_from;
        DROP INDEX refresh_families_by_subject;
        UPDATE devicegate_schema SET version = 4;
        """

    @Test func anInstallAtVersionFourWithRowsMigratesToFive() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let oldFlow = flow(), oldFamily = refreshFamily()
        try store.createFlow(oldFlow)
        try store.createRefreshFamily(oldFamily)
        try c.executeScript(Self.undoMigrationFive)
        #expect(try PostgresSchema.status(c) == .older(4))
        #expect(throws: FlowStorageError.self, "before the migration the columns are missing: an error, not a crash") {
            try store.createFlow(flow())
        }

        let migrated = try PostgresSchema.migrate(pg.connection())
        #expect(migrated.from == 4 && migrated.to == PostgresSchema.version)
        let after = try PostgresFlowStore(connection: pg.connection())
        #expect(try after.updateFlow(id: oldFlow.id) { record, _ in FlowUpdate(result: record) } == oldFlow, "a version-4 flow reads, requester nil")
        #expect(try after.refreshFamilies(subject: "alice") == [oldFamily], "a version-4 family is found by its subject")

        var newFlow = flow()
        newFlow.requester = DeviceRequester(address: "2001:db8::1", userAgent: "curl/8.5.0")
        try after.createFlow(newFlow)
        #expect(try after.updateFlow(id: newFlow.id) { record, _ in FlowUpdate(result: record) } == newFlow)
        var used = oldFamily
        used.lastUsedAt = start.adding(seconds: 60)
        used.lastUsedFrom = "192.0.2.7"
        try after.updateRefreshFamily(id: oldFamily.id) { _ in (used, ()) }
        #expect(try after.refreshFamilies(subject: "alice") == [used])
        let indexes = try c.execute(PostgresStatement("test_family_indexes", "SELECT indexname FROM pg_indexes WHERE tablename = 'refresh_families'"))
        #expect(try indexes.map { try $0.string(0) }.contains("refresh_families_by_subject"))
    }

    /// A row an operator damaged (an agent without an address) is `.corrupt`, never a crash.
    @Test func anAgentWithoutAnAddressCannotBeWritten() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let f = flow()
        try store.createFlow(f)
        #expect(throws: PostgresError.self, "the column check refuses it") {
            try c.executeScript("UPDATE flows SET requester_agent = 'x' WHERE id = '\(f.id)'")
        }
    }
}
