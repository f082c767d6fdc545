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
    final class FailingRevocationLookups: ForwardingFlowStore, @unchecked Sendable {
        var failing = false

        override func isAccessTokenRevoked(id: String) throws -> Bool {
            if failing { throw FlowStorageError(.io, "PostgreSQL unavailable") }
            return try inner.isAccessTokenRevoked(id: id)
        }

        override func subjectRevokedAt(_ subject: String) throws -> UnixTime? {
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
