#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// What the conformance suite does not show of `authorization_codes` (migration 4): an
/// install at version 3 migrates, a redemption's tokens commit or roll back with the code,
/// a row an operator damaged is `.corrupt`, and `collect_ms` is the record's `collectableAt`.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresAuthorizationCodeTests {
    func code(_ id: String = Encoding.hex(SystemSecureRandom().bytes(32))) -> AuthorizationCodeRecord {
        AuthorizationCodeRecord(id: id, clientID: "web", subject: "alice", scope: ScopeSet(["openid"]), authTime: start, createdAt: start,
                                expiresAt: start.adding(seconds: 60), redirectURI: "http://127.0.0.1/cb", codeChallenge: nil, nonce: nil)
    }

    func read(_ store: PostgresFlowStore, _ id: String) throws -> AuthorizationCodeRecord? {
        try store.updateAuthorizationCode(id: id) { (nil, $0) }
    }

    @Test func anInstallAtVersionThreeMigratesToFourKeepingItsFlows() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let kept = flow()
        try store.createFlow(kept)
        try c.executeScript(PostgresRequesterMigrationTests.undoMigrationFive)
        try c.executeScript("DROP TABLE authorization_codes; UPDATE devicegate_schema SET version = 3")
        #expect(try PostgresSchema.status(c) == .older(3))
        #expect(throws: FlowStorageError.self, "before the migration the table is missing: an error, not a crash") {
            try store.createAuthorizationCode(code())
        }
        let migrated = try PostgresSchema.migrate(pg.connection())
        #expect(migrated.from == 3 && migrated.to == PostgresSchema.version)
        #expect(try PostgresSchema.status(c) == .current)
        let issued = code()
        try store.createAuthorizationCode(issued)
        #expect(try read(store, issued.id) == issued)
        #expect(try store.updateFlow(id: kept.id) { record, _ in FlowUpdate(result: record) } == kept)
    }

    /// The closure's own writes (the access token a redemption saves) join the code's
    /// transaction: when the closure fails after them, nothing of it is kept, and the code is
    /// still redeemable.
    @Test func aFailedRedemptionLeavesNeitherTokenNorMark() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let issued = code()
        try store.createAuthorizationCode(issued)
        let token = AccessTokenRecord(tokenHash: Encoding.hex(SystemSecureRandom().bytes(32)), clientID: "web", subject: "alice",
                                      scope: ScopeSet(["openid"]), issuedAt: start, expiresAt: start.adding(seconds: 3600), flowID: issued.id)
        struct SigningFailed: Error {}
        #expect(throws: SigningFailed.self) {
            try store.updateAuthorizationCode(id: issued.id) { record -> (record: AuthorizationCodeRecord?, result: Void) in
                try store.saveAccessToken(token)
                throw SigningFailed()
            }
        }
        #expect(try store.accessToken(hash: token.tokenHash) == nil)
        #expect(try read(try PostgresFlowStore(connection: pg.connection()), issued.id) == issued)
    }

    @Test func aDamagedRowIsCorruptAndCollectionUsesCollectableAt() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let issued = code()
        try store.createAuthorizationCode(issued)
        let collect = try c.execute(PostgresStatement("t_collect_ms", "SELECT collect_ms FROM authorization_codes WHERE id = $1::text"), [.text(issued.id)])
        #expect(try collect.first?.int64(0) == issued.collectableAt.milliseconds)
        try c.executeScript("UPDATE authorization_codes SET scope = 'openid \"x'")
        let error = try #require(throws: FlowStorageError.self) { try read(store, issued.id) }
        #expect(error.kind == .corrupt)
        #expect(store.collectExpired(now: issued.collectableAt, retentionSeconds: 0) == 0)
        #expect(store.collectExpired(now: issued.collectableAt.adding(milliseconds: 1), retentionSeconds: 0) == 1)
        #expect(try read(store, issued.id) == nil)
    }
}
