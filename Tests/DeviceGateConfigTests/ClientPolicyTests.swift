import DeviceFlow
import DeviceGateConfig
import Testing

/// `clients[]` policy keys of issue 13: grant types, redirect URIs, lifetimes, skip_consent,
/// and the contradictions `check-config` reports.
struct ClientPolicyTests {
    static let head = """
    issuer: https://auth.example.com/application/o/devicegate/
    clients:
    """

    func load(_ clients: String) throws(ConfigurationError) -> DeviceGateConfiguration {
        try ConfigurationLoader().load(yaml: Self.head + "\n" + clients, fileName: "dg.yaml", environment: [:])
    }

    func issues(_ clients: String) -> [String: String] {
        do { _ = try load(clients); return [:] } catch {
            return Dictionary(error.issues.map { ($0.key, $0.message) }, uniquingKeysWith: { a, b in a + " | " + b })
        }
    }

    @Test func aWebAppAServiceAndADevice() throws {
        let config = try load("""
          - client_id: web
            grant_types: [authorization_code, refresh_token]
            redirect_uris: [https://app.example/cb, "http://127.0.0.1/cb", "com.example.app:/oauth"]
            post_logout_redirect_uris: [https://app.example/]
            lifetimes: {access_token: 300, id_token: 120, refresh_token: 7200}
          - client_id: svc
            type: confidential
            secret_hash: sha256:\(Encoding.sha256Hex("secret"))
            grant_types: [client_credentials]
            allowed_scopes: [api.read]
          - client_id: tv
            lifetimes: {device_code: 60, poll_interval: 2}
        """)
        let web = config.clients[0], svc = config.clients[1], tv = config.clients[2]
        #expect(web.grantTypes == [.authorizationCode, .refreshToken])
        #expect(web.redirectURIs == ["https://app.example/cb", "http://127.0.0.1/cb", "com.example.app:/oauth"])
        #expect(web.postLogoutRedirectURIs == ["https://app.example/"])
        #expect(!web.skipsConsent)
        #expect(web.lifetimes == ClientLifetimes(accessToken: 300, idToken: 120, refreshToken: 7200))
        #expect(svc.grantTypes == [.clientCredentials])
        #expect(tv.grantTypes == GrantType.defaults, "no grant_types: the device flow and refresh, as before")
        #expect(tv.lifetimes == ClientLifetimes(deviceCode: 60, pollInterval: 2))
        #expect(config.endpoints.authorization == "/application/o/authorize/")
        #expect(config.endpoints.endSession == "/application/o/end-session/")
    }

    @Test(arguments: [
        ("grant_types: [authorization_code]", "clients[0].redirect_uris", "redirect URI"),
        ("grant_types: [implicit]", "clients[0].grant_types", "unknown grant type"),
        ("grant_types: []", "clients[0].grant_types", "no grant type"),
        ("grant_types: [client_credentials]", "clients[0].grant_types", "confidential"),
        ("redirect_uris: [https://a.example/cb]", "clients[0].redirect_uris", "authorization_code"),
        ("post_logout_redirect_uris: [https://a.example/]", "clients[0].post_logout_redirect_uris", "authorization_code"),
        ("refresh_tokens: true\n    grant_types: [device_code]", "clients[0].refresh_tokens", "refresh_token"),
        ("skip_consent: true", "clients[0].skip_consent", "device flow always asks"),
        ("grant_types: [authorization_code]\n    redirect_uris: [https://a.example/cb]\n    skip_consent: true", "clients[0].skip_consent", "confidential clients only"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"http://127.0.0.1:1@evil.example/cb\"]", "clients[0].redirect_uris[0]", "userinfo"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"https://user@app.example/cb\"]", "clients[0].redirect_uris[0]", "userinfo"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"http://127.0.0.1.evil.example/cb\"]", "clients[0].redirect_uris[0]", "loopback"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"http://[::1]x/cb\"]", "clients[0].redirect_uris[0]", "loopback"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"http://127.0.0.1:99x/cb\"]", "clients[0].redirect_uris[0]", "loopback"),
        ("grant_types: [authorization_code]\n    redirect_uris: [https://a.example/cb]\n    lifetimes: {device_code: 60}", "clients[0].lifetimes", "device_code grant"),
        ("lifetimes: {device_code: 60, poll_interval: 60}", "clients[0].lifetimes.poll_interval", "shorter"),
        ("lifetimes: {device_code: 10}", "clients[0].lifetimes.device_code", "60"),
        ("lifetimes: {session: 10}", "clients[0].lifetimes.session", "unknown key"),
        ("grant_types: [device_code]\n    lifetimes: {refresh_token: 7200}", "clients[0].lifetimes.refresh_token", "refresh_token"),
        ("grant_types: [authorization_code]\n    redirect_uris: [http://app.example/cb]", "clients[0].redirect_uris[0]", "loopback"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"https://app.example/*\"]", "clients[0].redirect_uris[0]", "exactly"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"https://app.example/cb#x\"]", "clients[0].redirect_uris[0]", "fragment"),
        ("grant_types: [authorization_code]\n    redirect_uris: [myapp:/cb]", "clients[0].redirect_uris[0]", "reverse domain"),
        ("grant_types: [authorization_code]\n    redirect_uris: [/cb]", "clients[0].redirect_uris[0]", "absolute"),
        ("grant_types: [authorization_code]\n    redirect_uris: [\"https:///cb\"]", "clients[0].redirect_uris[0]", "host"),
    ])
    func contradictionsAreReported(_ keys: String, _ key: String, _ words: String) {
        let found = issues("  - client_id: c\n    " + keys)
        #expect(found[key]?.contains(words) == true, "\(keys): \(found)")
    }
}
