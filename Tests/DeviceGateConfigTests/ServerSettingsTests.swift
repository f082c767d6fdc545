import DeviceGateConfig
import Testing

/// `server.listen`, `server.allow_remote_fastcgi` and `server.request_read_timeout`
/// (issue 10, item 4): the FastCGI socket is a trust boundary.
@Suite struct ServerSettingsTests {
    static func yaml(_ server: String) -> String {
        """
        issuer: https://auth.example.com/
        state_dir: /var/lib/devicegate
        server:
        \(server.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        clients:
          - client_id: tv
            allowed_scopes: [openid]
        """
    }

    static func load(_ server: String) -> Result<DeviceGateConfiguration, ConfigurationError> {
        Result { () throws(ConfigurationError) in try ConfigurationLoader().load(yaml: yaml(server), fileName: "dg.yaml") }
    }

    /// (server section, expected key of the one issue, or nil when valid)
    @Test(arguments: [
        ("listen: /run/devicegate/devicegate.sock", nil),
        ("listen: 127.0.0.1:9000", nil),
        ("listen: 127.3.4.5:9000", nil),
        ("listen: fd:0", nil),
        ("listen: 10.0.0.1:9000", "server.listen"),
        ("listen: 0.0.0.0:9000", "server.listen"),
        ("listen: 0.0.0.0:9000\nallow_remote_fastcgi: [10.0.0.5]", nil),
        ("listen: 10.0.0.1:9000\nallow_remote_fastcgi: [10.0.0.5, \"fd00::5\", \"::ffff:10.0.0.6\"]", nil),
        ("listen: 10.0.0.1:9000\nallow_remote_fastcgi: []", "server.listen"),
        ("listen: 127.0.0.1:9000\nallow_remote_fastcgi: true", "server.allow_remote_fastcgi"),
        ("listen: 127.0.0.1:9000\nallow_remote_fastcgi: 10.0.0.5", "server.allow_remote_fastcgi"),
        ("listen: 127.0.0.1:9000\nallow_remote_fastcgi: [nginx.internal]", "server.allow_remote_fastcgi[0]"),
        ("listen: 10.0.0.1:9000\nallow_remote_fastcgi: [10.0.0.5, 10.0.0.0/8]", "server.allow_remote_fastcgi[1]"),
        // A refused list leaves the listener unallowed: both are reported, all at once.
        ("listen: 10.0.0.1:9000\nallow_remote_fastcgi: true", "server.allow_remote_fastcgi,server.listen"),
        ("request_read_timeout: 1", nil),
        ("request_read_timeout: 300", nil),
        ("request_read_timeout: 0", "server.request_read_timeout"),
        ("request_read_timeout: 301", "server.request_read_timeout"),
        ("request_read_timeout: soon", "server.request_read_timeout"),
    ] as [(String, String?)])
    func validation(_ server: String, _ expectedKey: String?) {
        switch Self.load(server) {
        case .success:
            #expect(expectedKey == nil, "accepted, expected an issue at \(expectedKey ?? "")")
        case .failure(let error):
            #expect(error.issues.map(\.key).filter { $0.hasPrefix("server") } == (expectedKey.map { $0.split(separator: ",").map(String.init) } ?? []), "\(error)")
        }
    }

    /// With delegated sign-in a loopback TCP port is refused too (any local user could name
    /// the signed-in person), unless the web servers are listed; a unix socket is fine.
    @Test(arguments: [
        ("listen: 127.0.0.1:9000", ["server.listen"]),
        ("listen: /run/devicegate/devicegate.sock", []),
        ("listen: 127.0.0.1:9000\nallow_remote_fastcgi: [127.0.0.1]", []),
    ] as [(String, [String])])
    func delegatedSignInNeedsASocketOrNamedPeers(_ server: String, _ expected: [String]) {
        let yaml = Self.yaml(server) + "\nweb:\n  sign_in: delegated\n"
        switch Result(catching: { () throws(ConfigurationError) in try ConfigurationLoader().load(yaml: yaml, fileName: "dg.yaml") }) {
        case .success: #expect(expected.isEmpty, "accepted")
        case .failure(let error): #expect(error.issues.map(\.key).filter { $0.hasPrefix("server") } == expected, "\(error)")
        }
    }

    @Test func defaultsAreLoopbackOnlyAndAFewSeconds() throws {
        let config = try Self.load("workers: 2").get()
        #expect(config.server.allowRemoteFastCGI.isEmpty)
        #expect(config.server.requestReadTimeout == 5)
    }

    @Test func aRefusedListenNamesTheFixAndTheLine() throws {
        guard case .failure(let error) = Self.load("workers: 2\nlisten: 0.0.0.0:9000") else { Issue.record("accepted"); return }
        let issue = try #require(error.issues.first { $0.key == "server.listen" })
        #expect(issue.location == "dg.yaml:5:11")
        #expect(issue.message.contains("server.allow_remote_fastcgi") && issue.message.contains("unix socket"))
    }

    @Test func listedPeersAreKept() throws {
        let config = try Self.load("listen: 0.0.0.0:9000\nallow_remote_fastcgi: [10.0.0.5, \"fd00::5\"]\nrequest_read_timeout: 9").get()
        #expect(config.server.allowRemoteFastCGI == ["10.0.0.5", "fd00::5"])
        #expect(config.server.requestReadTimeout == 9)
    }
}
