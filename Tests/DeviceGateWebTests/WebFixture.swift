#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import Logging
import Observability
import Testing
import TokenSigning

/// Hashes made by the real tools, so the users file is proven compatible with them.
enum KnownHashes {
    /// `htpasswd -nbB bob 'bcrypt pw'`
    static let htpasswdBcrypt = "$2y$05$uCLD0B.DajIz0iy.1/axGeybpdooYBuyGmj.VDqNmnyYqLL4fVVzm"
    /// `mkpasswd -m yescrypt 'yescrypt pw'`
    static let mkpasswdYescrypt = "$y$j9T$lsk7THzyrITTcAO0vVziF0$D2BROTlpVBa28kSIplaEE8phko8jD9fRN3kSEFVKwOD"
    /// `mkpasswd -m bcrypt 'mk bcrypt'`
    static let mkpasswdBcrypt = "$2b$05$9CN7kox0y4hhcCmkQ7A20uKZos8.Q6hxTxaxF1NtqFqen1zTYYxb2"
}

/// The whole app (OAuth endpoints + verification page) over the in-memory store (a real
/// state directory for tests of the disk), with a manual clock and a users file holding alice (yescrypt), bob (htpasswd -B) and carol (mkpasswd).
final class WebFixture {
    let temp = TemporaryDirectory()
    let clock = ManualClock()
    let config: DeviceGateConfiguration
    let storage: TestStorage
    var store: any FlowStorage & ExpiredStateCollecting { storage.flows }
    var webStore: any WebStateStorage & WebStateCollecting { storage.web }
    let app: DeviceGateApp
    /// What the audit log would hold.
    let audit = RecordingAuditSink()

    static let alicePassword = "correct horse battery"

    init(_ kind: TestStorage.Kind = .memory, _ adjust: (inout DeviceGateConfiguration, String) -> Void = { _, _ in }) throws {
        var config = testConfiguration(stateDirectory: temp.path + "/state")
        config.tokens.format = .opaque
        config.tokens.signingAlgorithm = "ES256"
        config.web.usersFile = temp.path + "/htpasswd"
        adjust(&config, temp.path)
        self.config = config
        let alice = try #require(PasswordHashing.hash(Self.alicePassword))
        let users = "# test users\nalice:\(alice)\nbob:\(KnownHashes.htpasswdBcrypt)\ncarol:\(KnownHashes.mkpasswdYescrypt)\n"
        try writeFile(temp.path + "/htpasswd", users)
        storage = try TestStorage(kind, root: config.stateDirectory)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        app = try DeviceGateApp.assemble(configuration: config, storage: try storage.application(keysDirectory: config.keysDirectory, now: clock.now()), clock: clock,
                                         telemetry: Telemetry(audit: audit, counters: nil, logger: logger), logger: logger)
    }

    deinit { temp.remove() }

    /// Starts a device flow for `client`: (device_code, user_code as displayed).
    func startFlow(client: String = "tv", scope: String? = nil) throws -> (deviceCode: String, userCode: String) {
        var body = "client_id=\(client)"
        if let scope { body += "&scope=\(scope.replacingSpaces())" }
        let response = app.handle(HTTPRequest(method: "POST", path: "/application/o/device/",
                                              contentType: "application/x-www-form-urlencoded", body: Array(body.utf8)))
        try #require(response.status == 200, "device authorization failed: \(response.bodyText)")
        return (try #require(jsonField(response.bodyText, "device_code")), try #require(jsonField(response.bodyText, "user_code")))
    }

    func poll(_ deviceCode: String, client: String = "tv") -> (status: Int, error: String?, body: String) {
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=\(client)&device_code=\(deviceCode)"
        let r = app.handle(HTTPRequest(method: "POST", path: "/application/o/token/",
                                       contentType: "application/x-www-form-urlencoded", body: Array(body.utf8)))
        return (r.status, jsonField(r.bodyText, "error"), r.bodyText)
    }

    func flow(_ deviceCode: String) throws -> DeviceFlowRecord? {
        try store.updateFlow(id: Encoding.sha256Hex(deviceCode)) { record, _ in FlowUpdate(result: record) }
    }
}

func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    try #require(fd >= 0, "cannot write \(path)")
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func jsonField(_ text: String, _ name: String) -> String? {
    guard let range = text.range(of: "\"\(name)\":\"") else { return nil }
    return String(text[range.upperBound...].prefix { $0 != "\"" })
}

extension String {
    func replacingSpaces() -> String { split(separator: " ").joined(separator: "+") }

    /// application/x-www-form-urlencoded component.
    var formEncoded: String {
        var out = ""
        for b in utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.append(Character(Unicode.Scalar(b)))
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded()
            }
        }
        return out
    }

    func leftPadded() -> String { count == 1 ? "0" + self : self }

    /// The value of the first `name="…" value="…"` input, HTML-unescaped enough for tokens.
    func inputValue(_ name: String) -> String? {
        guard let start = range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(self[start.upperBound...].prefix { $0 != "\"" })
    }
}

/// A browser stand-in: keeps cookies across requests and the CSRF token of the last page.
final class Browser {
    let fixture: WebFixture
    var cookies: [String: String] = [:]
    var address: String
    var remoteUser: String?
    /// Sent as `Accept-Language` with every request.
    var acceptLanguage: String?
    var csrf: String?
    /// The consent form's flow binding, from the last page that had one.
    var flow: String?
    var last: HTTPResponse?

    init(_ fixture: WebFixture, address: String = "203.0.113.7") {
        self.fixture = fixture
        self.address = address
    }

    var cookieHeader: String? {
        cookies.isEmpty ? nil : cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    }

    @discardableResult
    func send(_ method: String, _ path: String, query: String = "", body: String = "",
              contentType: String? = "application/x-www-form-urlencoded") -> HTTPResponse {
        let response = fixture.app.handle(HTTPRequest(
            method: method, path: path, query: query, contentType: method == "POST" ? contentType : nil,
            cookie: cookieHeader, acceptLanguage: acceptLanguage, remoteAddress: address, remoteUser: remoteUser, body: Array(body.utf8)))
        for (name, value) in response.headers where name == "Set-Cookie" {
            let pair = value.split(separator: ";")[0]
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let key = String(pair[..<eq]), v = String(pair[pair.index(after: eq)...])
            if value.contains("Max-Age=0") || v.isEmpty { cookies[key] = nil } else { cookies[key] = v }
        }
        if let token = response.bodyText.inputValue("csrf_token") { csrf = token }
        if let binding = response.bodyText.inputValue("flow") { flow = binding }
        last = response
        if response.status == 303, let location = response.header("Location"), location.hasPrefix("/") {
            // Follow the redirect as a browser does (the page it shows carries a fresh token),
            // but hand back the 303 itself so tests can look at its cookies. Redirects to
            // another site (a client's redirect URI) are for the test to look at.
            let parts = location.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let landing = send("GET", String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "")
            last = landing
        }
        return response
    }

    @discardableResult
    func get(_ path: String = "/device", query: String = "") -> HTTPResponse { send("GET", path, query: query) }

    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf token: String? = nil) -> HTTPResponse {
        var all = fields
        if let token = token ?? csrf { all.append(("csrf_token", token)) }
        return send("POST", path, body: all.map { "\($0.0.formEncoded)=\($0.1.formEncoded)" }.joined(separator: "&"))
    }

    @discardableResult
    func enter(_ code: String) -> HTTPResponse {
        if csrf == nil { get() }
        return post("/device", [("user_code", code)])
    }

    @discardableResult
    func signIn(_ user: String = "alice", _ password: String = WebFixture.alicePassword, code: String = "") -> HTTPResponse {
        if csrf == nil { get() }
        return post("/device/signin", [("username", user), ("password", password), ("user_code", code)])
    }

    @discardableResult
    func decide(_ action: String, code: String) -> HTTPResponse {
        post("/device/decision", [("user_code", code), ("action", action)] + (flow.map { [("flow", $0)] } ?? []))
    }
}
