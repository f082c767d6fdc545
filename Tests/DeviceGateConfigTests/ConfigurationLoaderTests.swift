import DeviceFlow
import DeviceGateConfig
import Testing

struct ConfigurationLoaderTests {
    static let valid = """
    issuer: https://auth.example.com/application/o/devicegate/
    state_dir: /var/lib/devicegate
    server:
      listen: 127.0.0.1:9000
      workers: 3
    user_code:
      length: 9
      charset: digits
    clients:
      - client_id: tv
        name: Living-room TV
        allowed_scopes: [openid, profile]
      - client_id: cli
        type: confidential
        secret_hash: sha256:\(Encoding.sha256Hex("secret"))
        allowed_scopes: openid email
        default_scopes: [email]
    """

    func load(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationError) -> DeviceGateConfiguration {
        try ConfigurationLoader().load(yaml: yaml, fileName: "dg.yaml", environment: environment)
    }

    func issues(_ yaml: String, environment: [String: String] = [:]) -> [ConfigurationIssue] {
        do { _ = try load(yaml, environment: environment); return [] } catch { return error.issues }
    }

    @Test func validFileWithDefaults() throws {
        let config = try load(Self.valid)
        #expect(config.server.listen == .tcp(host: "127.0.0.1", port: 9000))
        #expect(config.server.workers == 3)
        #expect(config.lifetimes.deviceCode == 600)
        #expect(config.lifetimes.pollInterval == 5)
        #expect(config.userCode == UserCodeFormat(length: 9, charset: .digits))
        #expect(config.endpoints.deviceAuthorization == "/application/o/device/")
        #expect(config.endpoints.token == "/application/o/token/")
        #expect(config.verificationURI == "https://auth.example.com/device")
        #expect(config.clients[0].defaultScopes == ScopeSet(["openid"]))
        #expect(config.clients[0].displayName == "Living-room TV")
        #expect(config.clients[1].kind == .confidential(secretSHA256: Encoding.sha256("secret")))
        #expect(config.clients[1].defaultScopes == ScopeSet(["email"]))
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try load(Self.valid, environment: ["DEVICEGATE_WORKERS": "7", "DEVICEGATE_LISTEN": "unix:/run/x.sock",
                                                        "DEVICEGATE_STATE_DIR": "/srv/dg"])
        #expect(config.server.workers == 7)
        #expect(config.server.listen == .unix(path: "/run/x.sock"))
        #expect(config.stateDirectory == "/srv/dg")
    }

    @Test func badEnvironmentValueIsReportedWithItsVariable() {
        let found = issues(Self.valid, environment: ["DEVICEGATE_WORKERS": "many"])
        #expect(found.map(\.location) == ["environment DEVICEGATE_WORKERS"])
    }

    @Test func everyErrorIsReportedWithLineAndColumn() {
        let yaml = """
        issuer: http://auth.example.com/
        state_dir: relative/path
        sever:
          workers: 2
        lifetimes:
          device_code: ten
        user_code:
          charset: emoji
        clients:
          - client_id: tv
            allowed_scopes: [openid]
            default_scopes: [openid, admin]
          - client_id: tv
            type: confidential
            secret_hash: md5:abc
        """
        let found = issues(yaml)
        let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["issuer"]?.message.contains("https://") == true)
        #expect(byKey["issuer"]?.location == "dg.yaml:1:9")
        #expect(byKey["state_dir"]?.location == "dg.yaml:2:12")
        #expect(byKey["sever"]?.location == "dg.yaml:3:1")
        #expect(byKey["lifetimes.device_code"]?.location == "dg.yaml:6:16")
        #expect(byKey["user_code.charset"] != nil)
        #expect(byKey["clients[0].default_scopes"]?.message.contains("admin") == true)
        #expect(byKey["clients[1].client_id"]?.message.contains("duplicate") == true)
        #expect(byKey["clients[1].secret_hash"]?.location == "dg.yaml:15:18")
        #expect(found.count == 8)
        // All eight, each at the line and column of the value (or key) at fault.
        #expect(Set(found.map { "\($0.location) \($0.key)" }) == [
            "dg.yaml:1:9 issuer",
            "dg.yaml:2:12 state_dir",
            "dg.yaml:3:1 sever",
            "dg.yaml:6:16 lifetimes.device_code",
            "dg.yaml:8:12 user_code.charset",
            "dg.yaml:12:21 clients[0].default_scopes",
            "dg.yaml:13:16 clients[1].client_id",
            "dg.yaml:15:18 clients[1].secret_hash",
        ])
        #expect(byKey["state_dir"]?.message.contains("absolute") == true)
        #expect(byKey["sever"]?.message.contains("unknown key") == true)
        #expect(byKey["lifetimes.device_code"]?.message.contains("whole number") == true)
        #expect(byKey["user_code.charset"]?.message.contains("base20") == true)
        #expect(byKey["clients[1].secret_hash"]?.message.contains("sha256:") == true)
    }

    @Test func invalidYAMLIsAnErrorNotACrash() {
        let found = issues("issuer: [unclosed\n  - x")
        #expect(found.count >= 1)
        #expect(found[0].message.contains("not valid YAML"))
    }

    @Test func weakUserCodesAreRefused() {
        let yaml = Self.valid.replacingOccurrences(of: "length: 9", with: "length: 6")
        #expect(issues(yaml).contains { $0.key == "user_code.length" && $0.message.contains("§5.1") })
    }

    @Test func loopbackHTTPIssuerIsAllowed() throws {
        let yaml = Self.valid.replacingOccurrences(of: "https://auth.example.com", with: "http://127.0.0.1:8080")
        #expect(try load(yaml).verificationURI == "http://127.0.0.1:8080/device")
    }

    @Test(arguments: [("unix:/run/a.sock", ListenAddress.unix(path: "/run/a.sock")), ("/run/a.sock", .unix(path: "/run/a.sock")),
                      ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)), ("fd:0", .inherited)])
    func listenAddresses(text: String, expected: ListenAddress) {
        #expect(ListenAddress.parse(text) == expected)
    }

    @Test(arguments: ["localhost:9000", "127.0.0.1:0", "127.0.0.1:70000", "unix:relative", "1.2.3:80"])
    func badListenAddresses(text: String) {
        #expect(ListenAddress.parse(text) == nil)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
