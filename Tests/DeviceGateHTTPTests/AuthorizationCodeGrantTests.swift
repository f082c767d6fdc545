import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import Foundation
import Testing

/// The clients of issue 13 beside the fixture's devices: a web app (authorization code with
/// PKCE), a confidential server app, a service (client_credentials), and devices with their
/// own lifetimes.
func addWebClients(_ config: inout DeviceGateConfiguration) {
    config.clients += [
        ClientRegistration(clientID: "web", displayName: "Web app", kind: .public,
                           allowedScopes: ScopeSet(["openid", "profile", "email", "offline_access"]), defaultScopes: ScopeSet(["openid"]),
                           grantTypes: [.authorizationCode, .refreshToken], redirectURIs: ["https://app.example/cb", "http://127.0.0.1/cb"],
                           lifetimes: ClientLifetimes(accessToken: 300, idToken: 120, refreshToken: 7200)),
        ClientRegistration(clientID: "server", displayName: "Server app", kind: .confidential(secretSHA256: Encoding.sha256("server-secret-1")),
                           allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]),
                           grantTypes: [.authorizationCode], redirectURIs: ["https://server.example/cb"]),
        ClientRegistration(clientID: "svc", displayName: "Service", kind: .confidential(secretSHA256: Encoding.sha256("svc-secret-12345")),
                           allowedScopes: ScopeSet(["api.read", "api.write", "openid", "offline_access"]), defaultScopes: ScopeSet(["api.read"]),
                           audience: "https://api.example", grantTypes: [.clientCredentials]),
        ClientRegistration(clientID: "quick-tv", displayName: "Quick TV", kind: .public, allowedScopes: ScopeSet(["openid"]),
                           defaultScopes: ScopeSet(["openid"]), grantTypes: [.deviceCode],
                           lifetimes: ClientLifetimes(deviceCode: 60, pollInterval: 2)),
    ]
}

func basic(_ id: String, _ secret: String) -> String {
    "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
}

/// A JWT's payload as JSON (Foundation's parser, independent of the app's writer).
func jwtClaims(_ token: String) throws -> [String: Any] {
    let parts = token.split(separator: ".")
    try #require(parts.count == 3)
    var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while text.count % 4 != 0 { text += "=" }
    let data = try #require(Data(base64Encoded: text))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

struct AuthorizationCodeGrantTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    static func request(client: String = "web", redirect: String = "https://app.example/cb", scope: String = "openid profile offline_access",
                        challenge: String? = challenge, nonce: String? = "n-0S6_WzA2Mj") -> AuthorizationRequest {
        AuthorizationRequest(clientID: client, redirectURI: redirect, scope: ScopeSet.parse(scope)!, state: "st", nonce: nonce, codeChallenge: challenge)
    }

    static func redeem(_ f: SignedAppFixture, _ code: String, client: String = "web", redirect: String? = "https://app.example/cb",
                       verifier: String? = verifier, authorization: String? = nil) -> HTTPResponse {
        var body = "grant_type=authorization_code&code=\(code)"
        if authorization == nil { body += "&client_id=\(client)" }
        if let redirect { body += "&redirect_uri=\(AuthorizationResponse.formEncode(redirect))" }
        if let verifier { body += "&code_verifier=\(verifier)" }
        return f.post("/application/o/token/", body, authorization: authorization)
    }

    @Test func aCodeRedeemsOnceForTokensWithTheNonceAndTheClientsLifetimes() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        let code = try f.app.service.issueAuthorizationCode(for: Self.request(), subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        f.clock.advance(seconds: 5)
        let response = Self.redeem(f, code)
        #expect(response.status == 200, "\(response.bodyText)")
        let tokens = try JSON(response)
        #expect(tokens["expires_in"] == "300", "the client's access_token lifetime")
        #expect(tokens["refresh_token"] != nil, "offline_access and the refresh_token grant")
        let id = try jwtClaims(try #require(tokens["id_token"]))
        #expect(id["nonce"] as? String == "n-0S6_WzA2Mj")
        #expect(id["aud"] as? String == "web" && id["sub"] as? String == "alice")
        #expect((id["exp"] as? Int).map { $0 - Int(f.clock.now().seconds) } == 120, "the client's id_token lifetime")
        // A refreshed id_token carries no nonce (OIDC Core §12.2: it belongs to the authentication).
        let refreshed = try JSON(f.refresh(try #require(tokens["refresh_token"]), client: "web"))
        #expect(try jwtClaims(try #require(refreshed["id_token"]))["nonce"] == nil)
    }

    /// RFC 6749 §4.1.2: a second use is refused and revokes what the first issued.
    @Test func aReplayedCodeRevokesItsTokens() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        let code = try f.app.service.issueAuthorizationCode(for: Self.request(), subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        let tokens = try JSON(Self.redeem(f, code))
        let access = try #require(tokens["access_token"])
        #expect(f.get("/application/o/userinfo/", bearer: access).status == 200)
        expectOAuthError(Self.redeem(f, code), "invalid_grant")
        #expect(f.get("/application/o/userinfo/", bearer: access).status == 401, "the access token of a replayed code is revoked")
        expectOAuthError(f.refresh(try #require(tokens["refresh_token"]), client: "web"), "invalid_grant")
    }

    @Test func refusals() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        func code(_ r: AuthorizationRequest = Self.request()) throws -> String {
            try f.app.service.issueAuthorizationCode(for: r, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        }
        expectOAuthError(Self.redeem(f, try code(), verifier: nil), "invalid_grant")
        expectOAuthError(Self.redeem(f, try code(), verifier: String(repeating: "x", count: 43)), "invalid_grant")
        expectOAuthError(Self.redeem(f, try code(), redirect: "https://app.example/other"), "invalid_grant")
        expectOAuthError(Self.redeem(f, try code(), redirect: nil), "invalid_request")
        expectOAuthError(Self.redeem(f, "not-a-code"), "invalid_grant")
        // A code issued to one client is refused for another (here: the confidential server app).
        expectOAuthError(Self.redeem(f, try code(), authorization: basic("server", "server-secret-1")), "invalid_grant")
        // 60 s and no more.
        let late = try code()
        f.clock.advance(seconds: 60)
        expectOAuthError(Self.redeem(f, late), "invalid_grant")
        // A client not allowed the grant: unauthorized_client, whatever the code.
        expectOAuthError(Self.redeem(f, try code(), client: "tv"), "unauthorized_client")
        // A confidential client must authenticate to redeem.
        let serverCode = try code(Self.request(client: "server", redirect: "https://server.example/cb", scope: "openid", challenge: nil))
        expectOAuthError(Self.redeem(f, serverCode, client: "server", redirect: "https://server.example/cb", verifier: nil), "invalid_client", status: 401)
        let ok = Self.redeem(f, serverCode, redirect: "https://server.example/cb", verifier: nil, authorization: basic("server", "server-secret-1"))
        #expect(ok.status == 200, "\(ok.bodyText)")
    }

    /// RFC 6749 §4.4: the client's own token; no refresh token (§4.4.3), no id_token.
    @Test func clientCredentials() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        let response = f.post("/application/o/token/", "grant_type=client_credentials&scope=api.read%20openid%20offline_access",
                              authorization: basic("svc", "svc-secret-12345"))
        #expect(response.status == 200, "\(response.bodyText)")
        let tokens = try JSON(response)
        #expect(tokens["refresh_token"] == nil && tokens["id_token"] == nil)
        let claims = try jwtClaims(try #require(tokens["access_token"]))
        // RFC 9068 §2.2/§5: the client's identifier, in a namespace no person's name can enter.
        #expect(claims["sub"] as? String == "client:svc" && claims["client_id"] as? String == "svc")
        #expect(claims["aud"] as? String == "https://api.example")
        let defaults = try JSON(f.post("/application/o/token/", "grant_type=client_credentials", authorization: basic("svc", "svc-secret-12345")))
        #expect(defaults["scope"] == "api.read")
        expectOAuthError(f.post("/application/o/token/", "grant_type=client_credentials&scope=admin", authorization: basic("svc", "svc-secret-12345")),
                         "invalid_scope")
        expectOAuthError(f.post("/application/o/token/", "grant_type=client_credentials", authorization: basic("svc", "wrong")),
                         "invalid_client", status: 401)
        // A public client, and a confidential one without the grant.
        expectOAuthError(f.post("/application/o/token/", "grant_type=client_credentials&client_id=tv"), "unauthorized_client")
        expectOAuthError(f.post("/application/o/token/", "grant_type=client_credentials", authorization: SignedAppFixture.cliBasic), "unauthorized_client")
        // The service may not start a device flow.
        expectOAuthError(f.post("/application/o/device/", "", authorization: basic("svc", "svc-secret-12345")), "unauthorized_client")
    }

    /// Per-client `lifetimes`: the device code and interval of one client, the others unchanged.
    @Test func perClientDeviceLifetimes() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        let quick = try JSON(f.post("/application/o/device/", "client_id=quick-tv"))
        #expect(quick["expires_in"] == "60" && quick["interval"] == "2")
        let slow = try JSON(f.post("/application/o/device/", "client_id=tv"))
        #expect(slow["expires_in"] == "600" && slow["interval"] == "5")
        f.clock.advance(seconds: 60)
        func poll(_ client: String, _ start: JSON) throws -> HTTPResponse {
            f.post("/application/o/token/", "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=\(client)&device_code=\(try #require(start["device_code"]))")
        }
        expectOAuthError(try poll("quick-tv", quick), "expired_token")
        expectOAuthError(try poll("tv", slow), "authorization_pending")
        // The web app lists no device_code: its poll is unauthorized_client, not an unknown code.
        expectOAuthError(try poll("web", quick), "unauthorized_client")
        // quick-tv lists only device_code: it may not refresh.
        expectOAuthError(f.post("/application/o/token/", "grant_type=refresh_token&client_id=quick-tv&refresh_token=x"), "unauthorized_client")
    }

    /// RFC 6749 §2.3.1 interop (oidc-agent): Basic with an empty password identifies a public
    /// client; a non-empty one is refused; a body client_id that agrees is accepted.
    @Test func publicClientsInBasicWithAnEmptyPassword() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        #expect(f.post("/application/o/device/", "", authorization: basic("tv", "")).status == 200)
        #expect(f.post("/application/o/device/", "client_id=tv", authorization: basic("tv", "")).status == 200)
        expectOAuthError(f.post("/application/o/device/", "client_id=other-tv", authorization: basic("tv", "")), "invalid_request")
        expectOAuthError(f.post("/application/o/device/", "", authorization: basic("tv", "guess")), "invalid_client", status: 401)
        // A confidential client's empty password is a failed authentication.
        expectOAuthError(f.post("/application/o/device/", "", authorization: basic("cli", "")), "invalid_client", status: 401)
    }

    @Test func discoveryListsWhatTheClientsMayUse() throws {
        let f = try SignedAppFixture(configure: addWebClients)
        let d = try DiscoveryTests.object(f.get("/application/o/devicegate/.well-known/openid-configuration"))
        #expect(d["grant_types_supported"] as? [String] == ["urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "client_credentials", "refresh_token"])
        #expect(d["authorization_endpoint"] as? String == "https://auth.example.com/application/o/authorize/")
        #expect(d["end_session_endpoint"] as? String == "https://auth.example.com/application/o/end-session/")
        #expect(d["code_challenge_methods_supported"] as? [String] == ["S256"])
        #expect(d["authorization_response_iss_parameter_supported"] as? Bool == true)
    }
}
