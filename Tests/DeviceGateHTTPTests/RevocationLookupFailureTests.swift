import DeviceFlow
import DeviceGateAssembly
import DeviceGateHTTP
import DeviceGateTesting
import Testing

/// A store that cannot say whether a token is revoked (PostgreSQL down) makes the resource
/// checks answer 503 `temporarily_unavailable` with Retry-After: never 200 for a token that
/// may be revoked, never a 401 that makes a client throw a good token away.
struct RevocationLookupFailureTests {
    /// Forwards to the real store, except that revocation lookups throw while `failing`.
    final class FailingRevocationLookups: FlowStorage, @unchecked Sendable {
        let inner: any FlowStorage
        var failing = false
        init(_ inner: any FlowStorage) { self.inner = inner }

        struct Down: Error {}
        func userCodeKey(forCanonicalUserCode code: String) -> String { inner.userCodeKey(forCanonicalUserCode: code) }
        func createFlow(_ record: DeviceFlowRecord) throws { try inner.createFlow(record) }
        func flowID(forUserCodeKey key: String) throws -> String? { try inner.flowID(forUserCodeKey: key) }
        func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R { try inner.updateFlow(id: id, body) }
        func saveAccessToken(_ record: AccessTokenRecord) throws { try inner.saveAccessToken(record) }
        func accessToken(hash: String) throws -> AccessTokenRecord? { try inner.accessToken(hash: hash) }
        func createRefreshFamily(_ family: RefreshFamily) throws { try inner.createRefreshFamily(family) }
        func refreshFamilyID(forTokenHash hash: String) throws -> String? { try inner.refreshFamilyID(forTokenHash: hash) }
        func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
            try inner.updateRefreshFamily(id: id, body)
        }
        func revokeAccessToken(id: String, expiresAt: UnixTime) throws { try inner.revokeAccessToken(id: id, expiresAt: expiresAt) }
        func isAccessTokenRevoked(id: String) throws -> Bool {
            if failing { throw FlowStorageError(.io, "PostgreSQL unavailable") }
            return try inner.isAccessTokenRevoked(id: id)
        }
        func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws { try inner.revokeSubject(subject, at: at, keepUntil: keepUntil) }
        func subjectRevokedAt(_ subject: String) throws -> UnixTime? {
            if failing { throw FlowStorageError(.io, "PostgreSQL unavailable") }
            return try inner.subjectRevokedAt(subject)
        }
    }

    @Test(arguments: ["/application/o/userinfo/", "/_devicegate/auth/"])
    func resourceChecksAnswer503WhileRevocationsCannotBeRead(path: String) throws {
        var failing: FailingRevocationLookups?
        let f = try SignedAppFixture(storage: { storage in
            let wrapper = FailingRevocationLookups(storage.flows)
            failing = wrapper
            storage.flows = wrapper
        })
        let access = try #require(try f.tokens(scope: "openid")["access_token"])
        #expect(f.get(path, bearer: access).status == 200)
        try #require(failing).failing = true
        let down = f.get(path, bearer: access)
        #expect(down.status == 503, "\(down.bodyText)")
        #expect(down.bodyText.contains("temporarily_unavailable"))
        #expect(down.header("Retry-After") != nil)
        try #require(failing).failing = false
        #expect(f.get(path, bearer: access).status == 200)
    }
}
