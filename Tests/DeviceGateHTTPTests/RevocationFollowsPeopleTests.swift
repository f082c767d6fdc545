import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@testable import DirectoryStorage
@testable import HostFiles
import Testing
import TokenSigning

/// Item 9: revocation follows the person and the stolen code.
struct RevocationFollowsPeopleTests {
    static let deviceGrant = "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=tv&device_code="

    /// RFC 6749 §4.1.2: a code presented again is refused and its tokens are revoked.
    @Test(arguments: [TokenSettings.Format.jwt, .opaque])
    func aSecondRedemptionRevokesTheTokensOfTheFirst(format: TokenSettings.Format) throws {
        let f = try SignedAppFixture(format: format)
        let start = try JSON(f.post("/application/o/device/", "client_id=tv&scope=openid+offline_access+api.read"))
        let deviceCode = try #require(start["device_code"])
        _ = try f.app.service.approve(userCode: try #require(start["user_code"]), subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        let first = try JSON(f.post("/application/o/token/", Self.deviceGrant + deviceCode))
        let access = try #require(first["access_token"]), refresh = try #require(first["refresh_token"])
        #expect(f.get("/_devicegate/auth/api.read", bearer: access).status == 200)
        // A refresh first: the family's newer tokens die with it too.
        let rotated = try JSON(f.refresh(refresh))
        let access2 = try #require(rotated["access_token"]), refresh2 = try #require(rotated["refresh_token"])
        f.clock.advance(seconds: 5)

        let replay = f.post("/application/o/token/", Self.deviceGrant + deviceCode)
        expectOAuthError(replay, "invalid_grant")
        #expect(replay.bodyText.contains("revoked"))
        for token in [access, access2] {
            #expect(f.get("/_devicegate/auth/api.read", bearer: token).status == 401)
            #expect(f.get("/application/o/userinfo/", bearer: token).status == 401)
        }
        expectOAuthError(f.refresh(refresh2), "invalid_grant")
        // Idempotent: a third presentation is refused the same way.
        expectOAuthError(f.post("/application/o/token/", Self.deviceGrant + deviceCode), "invalid_grant")
    }

    /// A code without a refresh token: its one access token is revoked.
    @Test func aReplayWithoutRefreshTokenRevokesTheAccessToken() throws {
        let f = try SignedAppFixture()
        let start = try JSON(f.post("/application/o/device/", "client_id=tv&scope=openid"))
        let deviceCode = try #require(start["device_code"])
        _ = try f.app.service.approve(userCode: try #require(start["user_code"]), subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        let access = try #require(try JSON(f.post("/application/o/token/", Self.deviceGrant + deviceCode))["access_token"])
        #expect(f.get("/application/o/userinfo/", bearer: access).status == 200)
        expectOAuthError(f.post("/application/o/token/", Self.deviceGrant + deviceCode), "invalid_grant")
        #expect(f.get("/application/o/userinfo/", bearer: access).status == 401)
    }

    /// `devicegate users remove`: every token, family and approval of the subject from before
    /// the removal is dead at once; what is issued after (a re-added user) lives.
    @Test(arguments: [TokenSettings.Format.jwt, .opaque])
    func removingASubjectRevokesEverythingTheyHeld(format: TokenSettings.Format) throws {
        let f = try SignedAppFixture(format: format)
        let t = try f.tokens(scope: "openid+offline_access+api.read")
        let access = try #require(t["access_token"]), refresh = try #require(t["refresh_token"])
        // An approval not yet redeemed.
        let pending = try JSON(f.post("/application/o/device/", "client_id=tv&scope=openid"))
        _ = try f.app.service.approve(userCode: try #require(pending["user_code"]), subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        f.clock.advance(seconds: 2)

        try f.store.revokeSubject("alice", at: f.clock.now(), keepUntil: f.clock.now().adding(seconds: 86_400 * 31))
        f.clock.advance(seconds: 2)

        #expect(f.get("/_devicegate/auth/api.read", bearer: access).status == 401)
        let introspected = try JSON(f.post("/application/o/introspect/", "token=\(access)", authorization: SignedAppFixture.rsBasic))
        #expect(introspected.fields == ["active": "false"])
        let introspectedRefresh = try JSON(f.post("/application/o/introspect/", "token=\(refresh)", authorization: SignedAppFixture.rsBasic))
        #expect(introspectedRefresh.fields == ["active": "false"])
        expectOAuthError(f.refresh(refresh), "invalid_grant")
        expectOAuthError(f.post("/application/o/token/", Self.deviceGrant + (try #require(pending["device_code"]))), "access_denied")
        // Signed in again after the removal (re-added): new tokens work.
        let again = try #require(try f.tokens(scope: "openid+api.read")["access_token"])
        #expect(f.get("/_devicegate/auth/api.read", bearer: again).status == 200)
    }

    @Test(arguments: [TestStorage.Kind.memory, .disk])
    func revokingASubjectEndsTheirSessions(_ kind: TestStorage.Kind) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let storage = try TestStorage(kind, root: temp.path + "/state")
        let store = storage.flows, web = storage.web
        let t0 = UnixTime(seconds: 1_800_000_000)
        let alice = String(repeating: "a", count: 64), bob = String(repeating: "b", count: 64)
        try web.saveSession(idHash: alice, WebSession(subject: "alice", authTime: t0, expiresAt: t0.adding(seconds: 3600)))
        try web.saveSession(idHash: bob, WebSession(subject: "bob", authTime: t0, expiresAt: t0.adding(seconds: 3600)))
        try store.revokeSubject("alice", at: t0.adding(seconds: 10), keepUntil: t0.adding(seconds: 7200))
        #expect(try web.session(idHash: alice) == nil)
        #expect(try web.session(idHash: bob)?.subject == "bob")
        // A session signed in after the removal is not affected.
        try web.saveSession(idHash: alice, WebSession(subject: "alice", authTime: t0.adding(seconds: 11), expiresAt: t0.adding(seconds: 3600)))
        #expect(try web.session(idHash: alice)?.subject == "alice")
        // A second removal only moves the time forward; garbage collection keeps the marker
        // until keepUntil, then removes it.
        try store.revokeSubject("alice", at: t0.adding(seconds: 5), keepUntil: t0.adding(seconds: 100))
        #expect(try store.subjectRevokedAt("alice") == t0.adding(seconds: 10))
        store.collectExpired(now: t0.adding(seconds: 7000), retentionSeconds: 0)
        #expect(try store.subjectRevokedAt("alice") != nil)
        store.collectExpired(now: t0.adding(seconds: 7201), retentionSeconds: 0)
        #expect(try store.subjectRevokedAt("alice") == nil)
    }

    /// An unreadable or garbled marker counts as revoked forever for the checks, but a new
    /// removal replaces it with real times: the fail-closed stand-in is never written back.
    @Test func aGarbledMarkerIsReplacedNotMadePermanent() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let directory = StateDirectory(root: temp.path + "/state")
        try directory.prepare()
        let store = try FileFlowStore(directory: directory)
        let t0 = UnixTime(seconds: 1_800_000_000)
        let path = directory.revokedPath(StateDirectory.subjectRevocationID("alice"))
        try Sys.atomicWrite(directory: path.dir, name: path.name, Array("garbled".utf8))
        #expect(try store.subjectRevokedAt("alice") == UnixTime(milliseconds: .max), "fail closed")
        try store.revokeSubject("alice", at: t0, keepUntil: t0.adding(seconds: 100))
        #expect(try store.subjectRevokedAt("alice") == t0)
        _ = store.collectGarbage(now: t0.adding(seconds: 101), retentionSeconds: 0, shards: 0..<256)
        #expect(try store.subjectRevokedAt("alice") == nil)
    }
}
