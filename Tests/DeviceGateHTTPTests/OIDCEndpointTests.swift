import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import Logging
import Testing
import TokenSigning

/// The app with signed tokens and the OIDC endpoints, over the in-memory store and keys.
final class SignedAppFixture {
    let temp = TemporaryDirectory()
    let clock = ManualClock()
    var config: DeviceGateConfiguration
    let storage: TestStorage
    var store: any FlowStorage & ExpiredStateCollecting { storage.flows }
    let app: DeviceGateApp
    let keys: KeyRing

    init(format: TokenSettings.Format = .jwt, configure: (inout DeviceGateConfiguration) -> Void = { _ in },
         storage adjust: (inout ApplicationStorage) -> Void = { _ in }) throws {
        config = testConfiguration(stateDirectory: temp.path + "/state")
        config.users = ["alice": UserClaims(name: "Alice", email: "alice@example.com", emailVerified: true)]
        config.tokens.format = format
        config.clients[0].allowedScopes = ScopeSet(["openid", "profile", "email", "offline_access", "api.read"])
        // A resource server: the one client that may introspect other clients' tokens.
        config.clients.append(ClientRegistration(clientID: "rs", displayName: "API", kind: .confidential(secretSHA256: Encoding.sha256("rs-secret-rs-secret")),
                                                 allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]), mayIntrospectAnyToken: true))
        configure(&config)
        storage = try TestStorage(.memory, root: config.stateDirectory)
        let files = try storage.signingKeys(keysDirectory: config.keysDirectory)
        try KeyRing.ensureKey(files: files, algorithm: .rs256, now: clock.now())
        keys = KeyRing(files: files, maximumTokenLifetime: 3600)
        var application = storage.application(keys: files)
        adjust(&application)
        app = try DeviceGateApp.assemble(configuration: config, storage: application,
                                         clock: clock, telemetry: .disabled(), logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    deinit { temp.remove() }

    func post(_ path: String, _ body: String, authorization: String? = nil) -> HTTPResponse {
        app.handle(HTTPRequest(method: "POST", path: path, contentType: "application/x-www-form-urlencoded", authorization: authorization, body: Array(body.utf8)))
    }

    func get(_ path: String, bearer: String? = nil) -> HTTPResponse {
        app.handle(HTTPRequest(method: "GET", path: path, authorization: bearer.map { "Bearer \($0)" }))
    }

    /// Runs a whole flow and returns the token response fields.
    func tokens(scope: String = "openid offline_access", client: String = "tv") throws -> JSON {
        let start = try JSON(post("/application/o/device/", "client_id=\(client)&scope=\(scope)"))
        _ = try app.service.approve(userCode: try #require(start["user_code"]), subject: "alice", authTime: clock.now(), now: clock.now())
        let response = post("/application/o/token/", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=\(client)&device_code=\(try #require(start["device_code"]))")
        #expect(response.status == 200, "\(response.bodyText)")
        return try JSON(response)
    }

    func refresh(_ token: String, client: String = "tv", scope: String? = nil) -> HTTPResponse {
        post("/application/o/token/", "grant_type=refresh_token&client_id=\(client)&refresh_token=\(token)" + (scope.map { "&scope=\($0)" } ?? ""))
    }

    static let cliBasic = "Basic Y2xpOnMzY3JldC1zM2NyZXQ="
    static let rsBasic = "Basic cnM6cnMtc2VjcmV0LXJzLXNlY3JldA=="

    /// An access token signed with the fixture's real key, with claims the issuer never
    /// writes (another audience, scopes with '+' or ','): what another deployment sharing
    /// the key, or a future version, could present.
    func signedAccessToken(aud: [String] = [], scope: String = "openid", client: String = "tv", sub: String = "alice") throws -> String {
        var o = JSONObject()
        o.add("iss", config.issuer); o.add("sub", sub); o.add("client_id", client)
        o.add("jti", Encoding.base64URL(SystemSecureRandom().bytes(16)))
        o.add("exp", Int(clock.now().seconds) + 600); o.add("iat", Int(clock.now().seconds)); o.add("scope", scope)
        if aud.count == 1 { o.add("aud", aud[0]) } else if !aud.isEmpty { o.add("aud", aud) }
        return try JWT.sign(payload: o.finished(), type: "at+jwt", key: keys.activeKey(now: clock.now()))
    }
}

struct RefreshGrantTests {
    @Test func rotationNarrowingAndReuseDetection() throws {
        let f = try SignedAppFixture()
        let first = try f.tokens(scope: "openid+email+offline_access")
        let r1 = try #require(first["refresh_token"])
        // Narrowing is allowed and rotates the token.
        let second = try JSON(f.refresh(r1, scope: "openid"))
        #expect(second["scope"] == "openid")
        let r2 = try #require(second["refresh_token"])
        #expect(r2 != r1)
        // Widening is refused and does not consume the token.
        expectOAuthError(f.refresh(r2, scope: "openid+profile"), "invalid_scope")
        // Without scope, the new access token gets the family's full original scope.
        let third = try JSON(f.refresh(r2))
        #expect(third["scope"] == "openid email offline_access")
        let access3 = try #require(third["access_token"])
        #expect(f.get("/application/o/userinfo/", bearer: access3).status == 200)
        // Reusing a rotated token revokes the family: the newest refresh and access tokens die too.
        expectOAuthError(f.refresh(r1), "invalid_grant")
        expectOAuthError(f.refresh(try #require(third["refresh_token"])), "invalid_grant")
        #expect(f.get("/application/o/userinfo/", bearer: access3).status == 401)
    }

    @Test func otherClientsAndUnknownTokensAreRefused() throws {
        let f = try SignedAppFixture()
        let r = try #require(try f.tokens()["refresh_token"])
        expectOAuthError(f.refresh(r, client: "other-tv"), "invalid_grant")
        expectOAuthError(f.refresh("nope"), "invalid_grant")
        expectOAuthError(f.post("/application/o/token/", "grant_type=refresh_token&client_id=tv"), "invalid_request")
        // The rightful client can still use it: a refusal for another client consumes nothing.
        #expect(f.refresh(r).status == 200)
    }

    @Test func noRefreshTokenWithoutOfflineAccess() throws {
        let f = try SignedAppFixture()
        #expect(try f.tokens(scope: "openid")["refresh_token"] == nil)
    }

    @Test func expiredFamilyIsRefused() throws {
        let f = try SignedAppFixture()
        let r = try #require(try f.tokens()["refresh_token"])
        f.clock.advance(seconds: 30 * 86_400)
        expectOAuthError(f.refresh(r), "invalid_grant")
    }
}

struct UserinfoAndGatewayTests {
    @Test func userinfoReturnsClaimsByScope() throws {
        let f = try SignedAppFixture()
        let narrow = try JSON(f.get("/application/o/userinfo/", bearer: try #require(try f.tokens(scope: "openid")["access_token"])))
        #expect(narrow["sub"] == "alice" && narrow["email"] == nil)
        let wide = try JSON(f.get("/application/o/userinfo/", bearer: try #require(try f.tokens(scope: "openid+email+profile")["access_token"])))
        #expect(wide["email"] == "alice@example.com" && wide["name"] == "Alice" && wide["email_verified"] == "true")
        let viaBody = f.post("/application/o/userinfo/", "access_token=\(try #require(try f.tokens(scope: "openid")["access_token"]))")
        #expect(viaBody.status == 200)
    }

    @Test func userinfoRefusals() throws {
        let f = try SignedAppFixture()
        let missing = f.get("/application/o/userinfo/")
        #expect(missing.status == 401 && missing.header("WWW-Authenticate") == "Bearer realm=\"devicegate\"")
        let bad = f.get("/application/o/userinfo/", bearer: "garbage")
        #expect(bad.status == 401 && bad.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true)
        let noOpenID = f.get("/application/o/userinfo/", bearer: try #require(try f.tokens(scope: "email")["access_token"]))
        #expect(noOpenID.status == 403 && noOpenID.header("WWW-Authenticate")?.contains("insufficient_scope") == true)
        let token = try #require(try f.tokens(scope: "openid")["access_token"])
        f.clock.advance(seconds: 3600)
        let expired = f.get("/application/o/userinfo/", bearer: token)
        #expect(expired.status == 401 && expired.header("WWW-Authenticate")?.contains("expired") == true)
        #expect(f.app.handle(HTTPRequest(method: "PUT", path: "/application/o/userinfo/")).status == 405)
    }

    @Test func idTokensAreNotAccessTokens() throws {
        let f = try SignedAppFixture()
        let idToken = try #require(try f.tokens(scope: "openid")["id_token"])
        #expect(f.get("/application/o/userinfo/", bearer: idToken).status == 401)
        #expect(f.get("/_devicegate/auth/", bearer: idToken).status == 401)
    }

    @Test(arguments: [TokenSettings.Format.jwt, .opaque])
    func gatewayChecksSignatureExpiryRevocationAndScopes(format: TokenSettings.Format) throws {
        let f = try SignedAppFixture(format: format)
        let token = try #require(try f.tokens(scope: "openid+api.read")["access_token"])
        let ok = f.get("/_devicegate/auth/api.read", bearer: token)
        #expect(ok.status == 200)
        #expect(ok.header("X-Devicegate-Subject") == "alice")
        #expect(ok.header("X-Devicegate-Scope") == "openid api.read")
        #expect(f.get("/_devicegate/auth/api.read%20openid", bearer: token).status == 200)
        let forbidden = f.get("/_devicegate/auth/api.read%20api.write", bearer: token)
        #expect(forbidden.status == 403 && forbidden.header("WWW-Authenticate")?.contains("scope=\"api.read api.write\"") == true)
        #expect(f.get("/_devicegate/auth/api.read").status == 401)
        // Revocation takes effect on the next check, cache or not.
        #expect(f.post("/application/o/revoke/", "client_id=tv&token=\(token)").status == 200)
        #expect(f.get("/_devicegate/auth/api.read", bearer: token).status == 401)
    }

    @Test func forgedTokenWithAnotherKeyIsRefused() throws {
        let f = try SignedAppFixture()
        let foreign = try SigningKey.generate(.rs256)
        var o = JSONObject()
        o.add("iss", f.config.issuer); o.add("sub", "mallory"); o.add("client_id", "tv"); o.add("jti", "x")
        o.add("exp", Int(f.clock.now().seconds) + 600); o.add("iat", Int(f.clock.now().seconds)); o.add("scope", "openid api.read")
        let forged = try JWT.sign(payload: o.finished(), type: "at+jwt", key: foreign)
        #expect(f.get("/_devicegate/auth/api.read", bearer: forged).status == 401)
    }
}

struct IntrospectionAndRevocationTests {
    @Test func introspectionRequiresAConfidentialClient() throws {
        let f = try SignedAppFixture()
        let token = try #require(try f.tokens()["access_token"])
        expectOAuthError(f.post("/application/o/introspect/", "client_id=tv&token=\(token)"), "invalid_client", status: 401)
        expectOAuthError(f.post("/application/o/introspect/", "", authorization: SignedAppFixture.cliBasic), "invalid_request")
        let active = try JSON(f.post("/application/o/introspect/", "token=\(token)", authorization: SignedAppFixture.rsBasic))
        #expect(active["active"] == "true" && active["sub"] == "alice" && active["client_id"] == "tv" && active["token_type"] == "Bearer")
        let inactive = try JSON(f.post("/application/o/introspect/", "token=nope", authorization: SignedAppFixture.rsBasic))
        #expect(inactive.fields == ["active": "false"])
    }

    @Test func introspectingRefreshTokensFollowsRotation() throws {
        let f = try SignedAppFixture()
        let r1 = try #require(try f.tokens()["refresh_token"])
        let before = try JSON(f.post("/application/o/introspect/", "token=\(r1)&token_type_hint=refresh_token", authorization: SignedAppFixture.rsBasic))
        #expect(before["active"] == "true" && before["token_type"] == "refresh_token")
        _ = f.refresh(r1)
        let after = try JSON(f.post("/application/o/introspect/", "token=\(r1)", authorization: SignedAppFixture.rsBasic))
        #expect(after["active"] == "false")
    }

    @Test func revokingARefreshTokenRevokesItsGrant() throws {
        let f = try SignedAppFixture()
        let t = try f.tokens()
        let access = try #require(t["access_token"]), refresh = try #require(t["refresh_token"])
        #expect(f.post("/application/o/revoke/", "client_id=tv&token=\(refresh)&token_type_hint=refresh_token").status == 200)
        expectOAuthError(f.refresh(refresh), "invalid_grant")
        #expect(f.get("/application/o/userinfo/", bearer: access).status == 401)
    }

    @Test func revocationRefusals() throws {
        let f = try SignedAppFixture()
        let token = try #require(try f.tokens()["access_token"])
        // Unknown tokens: 200 (RFC 7009 §2.2). Another client's token: refused, and still valid.
        #expect(f.post("/application/o/revoke/", "client_id=tv&token=unknown").status == 200)
        expectOAuthError(f.post("/application/o/revoke/", "token=\(token)", authorization: SignedAppFixture.cliBasic), "unauthorized_client")
        #expect(f.get("/application/o/userinfo/", bearer: token).status == 200)
        expectOAuthError(f.post("/application/o/revoke/", "client_id=tv"), "invalid_request")
        expectOAuthError(f.post("/application/o/revoke/", "client_id=cli&token=x"), "invalid_client", status: 401)
    }
}
