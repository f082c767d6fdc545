#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import FastCGIServer
import DirectoryStorage
import HostFiles
import Logging
import Observability
import TokenSigning

extension AppHarness {
    /// One configured app over its own state directory, and what its placeholders stand for.
    final class Instance {
        let config: DeviceGateConfiguration
        let store: FileFlowStore
        let webStore: FileWebStateStore
        let app: DeviceGateApp
        let keys: KeyRing
        /// The validator the OIDC endpoints and the gateway use.
        let validator: AccessTokenValidator
        let clock: ManualClock
        let cookies: WebCookies
        /// The verification page's path, without a trailing slash.
        let base: String
        /// A fixed anonymous CSRF cookie, a session id of bob, and the form tokens bound to them.
        let anonymous: String
        let sessionID: String
        private(set) var anonymousCSRF = ""
        private(set) var sessionCSRF = ""
        /// Every element and attribute structure a benign page of the built-in templates has
        /// (`PageShapes`): a page of another shape holds something a value let in.
        let pageShapes: Set<[String]>

        /// `htpasswd -nbB bob 'bcrypt pw'` (cost 5, so a sign-in costs milliseconds).
        static let bobHash = "$2y$05$uCLD0B.DajIz0iy.1/axGeybpdooYBuyGmj.VDqNmnyYqLL4fVVzm"
        static let bobPassword = "bcrypt pw"

        init(directory: String, delegated: Bool, clock: ManualClock) throws {
            self.clock = clock
            try makeDirectories(directory)
            var config = testConfiguration(stateDirectory: directory + "/state")
            config.users = ["bob": UserClaims(name: "Bob", email: "bob@example.com", emailVerified: true)]
            config.clients[0].allowedScopes = ScopeSet(["openid", "profile", "email", "offline_access", "api.read"])
            config.clients[2].mayIntrospectAnyToken = true  // "cli" ({basic}) is the resource server
            // A web app signing in with the authorization code flow.
            config.clients.append(ClientRegistration(
                clientID: "web", displayName: "Web <App>", kind: .public, allowedScopes: ScopeSet(["openid", "profile"]),
                defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode, .refreshToken],
                redirectURIs: ["https://app.example/cb", "http://127.0.0.1/cb"], postLogoutRedirectURIs: ["https://app.example/bye"]))
            config.tokens.signingAlgorithm = "ES256"
            config.tokens.format = delegated ? .opaque : .jwt
            config.web.usersFile = directory + "/htpasswd"
            config.web.signIn = delegated ? .delegated : .embedded
            if !delegated {
                config.web.limits.userCodePerIP.maximum = 1_000_000
                config.web.limits.userCodeGlobal.maximum = 1_000_000
            }
            self.config = config
            try writeText(directory + "/htpasswd", "bob:\(Self.bobHash)\n")

            let stateDirectory = StateDirectory(root: config.stateDirectory)
            try stateDirectory.prepare()
            store = try FileFlowStore(directory: stateDirectory)
            webStore = try FileWebStateStore(directory: stateDirectory)
            let files = try KeyFiles(directory: config.keysDirectory)
            try KeyRing.ensureKey(files: files, algorithm: .es256, now: clock.now())
            // As `makeApplication` does, with the audit log and a counter page as `devicegate worker` sets them up.
            let telemetry = Telemetry(audit: try FileAuditSink(path: config.stateDirectory + "/audit.jsonl"),
                                      counters: try CounterPage.claimSlot(in: stateDirectory.root, layout: MetricsLayout.id, count: MetricsLayout.count),
                                      logger: Logger(label: "fuzz", factory: { _ in RenderingLogHandler() }))
            app = try DeviceGateApp.assemble(configuration: config, storage: .stateDirectory(flows: store, webState: webStore, keys: files),
                                             clock: clock, telemetry: telemetry, logger: Logger(label: "fuzz", factory: { _ in RenderingLogHandler() }))
            keys = app.oidc.keys
            validator = app.oidc.validator
            let templates = try PageTemplates(directory: config.web.templatesDirectory)
            let pages = ["enter", "signin", "consent", "done", "message", "authorize_signin", "authorize_consent", "signed_out", "devices"]
                .map { ($0, DefaultTemplates.textWithPartials($0)) }
            pageShapes = PageShapes.all(pages: pages, render: templates.render)

            cookies = WebCookies(settings: config.web)
            base = app.routes.verification.enter
            let random = SeededRandom(seed: delegated ? 2 : 1)
            anonymous = Encoding.base64URL(random.bytes(32))
            sessionID = Encoding.base64URL(random.bytes(32))
            // The form tokens, as the page itself hands them out.
            anonymousCSRF = try formToken(cookie: "\(cookies.csrfName)=\(anonymous)", remoteUser: nil)
            try saveSession()
            sessionCSRF = try formToken(cookie: "\(cookies.sessionName)=\(sessionID); \(cookies.csrfName)=\(anonymous)",
                                        remoteUser: delegated ? "bob" : nil)
        }

        struct SetupError: Error, CustomStringConvertible { var description: String }

        private func formToken(cookie: String, remoteUser: String?) throws -> String {
            let page = app.handle(HTTPRequest(method: "GET", path: base, cookie: cookie, remoteUser: remoteUser))
            let marker = "name=\"csrf_token\" value=\""
            guard page.status == 200, let start = page.bodyText.firstRange(of: marker) else {
                throw SetupError(description: "GET \(base) gave \(page.status) without a csrf_token: \(page.bodyText.prefix(300))")
            }
            return String(page.bodyText[start.upperBound...].prefix { $0 != "\"" })
        }

        /// The consent form's `flow` field for bob's session and this code, as the page shows it.
        private func flowBinding(userCode: String) throws -> String {
            let page = app.handle(HTTPRequest(method: "POST", path: base, contentType: "application/x-www-form-urlencoded",
                                              cookie: "\(cookies.sessionName)=\(sessionID); \(cookies.csrfName)=\(anonymous)",
                                              remoteUser: config.web.signIn == .delegated ? "bob" : nil,
                                              body: Array("user_code=\(userCode)&csrf_token=\(sessionCSRF)".utf8)))
            let marker = "name=\"flow\" value=\""
            guard page.status == 200, let start = page.bodyText.firstRange(of: marker) else {
                throw SetupError(description: "POST \(base) gave \(page.status) without a flow binding: \(page.bodyText.prefix(300))")
            }
            return String(page.bodyText[start.upperBound...].prefix { $0 != "\"" })
        }

        private func saveSession() throws {
            let now = clock.now()
            try webStore.saveSession(idHash: Encoding.sha256Hex(sessionID),
                                     WebSession(subject: "bob", authTime: now, expiresAt: now.adding(seconds: 86_400)))
        }

        /// The request the worker would build, placeholders filled in.
        func request(_ input: AppInput) throws -> HTTPRequest {
            var fills: [String: String] = [:]
            let all = [input.method, input.path, input.query, input.contentType, input.authorization, input.cookie,
                       input.remoteAddress, input.remoteUser, input.requestID, input.body]
            func wants(_ names: String...) -> Bool {
                names.contains { name in all.contains { $0.contains(Array("{\(name)}".utf8)) } }
            }
            guard wants("code", "device_code", "flow", "access", "refresh", "id_token", "basic", "anon", "csrf", "session", "session_csrf", "password") else {
                return makeRequest(input, fills: [:])
            }
            let service = app.service
            let tv = service.clients["tv"]!
            let scope = ScopeSet(["openid", "offline_access", "email"])
            if wants("code", "device_code", "flow") {
                let flow = try service.authorizeDevice(client: tv, scope: scope, now: clock.now())
                fills["code"] = flow.userCode
                fills["device_code"] = flow.deviceCode
            }
            if wants("access", "refresh", "id_token") {
                let tokens = try freshTokens()
                fills["access"] = tokens.accessToken
                fills["refresh"] = tokens.refreshToken ?? ""
                fills["id_token"] = tokens.idToken ?? ""
            }
            if wants("session", "session_csrf", "flow") { try saveSession() }
            if wants("flow"), let code = fills["code"] { fills["flow"] = try flowBinding(userCode: code) }
            fills["basic"] = "Basic " + ReferenceCoding.base64(Array("cli:s3cret-s3cret".utf8))
            fills["anon"] = anonymous
            fills["csrf"] = anonymousCSRF
            fills["session"] = sessionID
            fills["session_csrf"] = sessionCSRF
            fills["password"] = String(decoding: ReferenceCoding.formEncode(Self.bobPassword.utf8), as: UTF8.self)
            return makeRequest(input, fills: fills)
        }

        /// The tokens of a flow started, approved by bob and redeemed just now.
        func freshTokens() throws -> IssuedTokens {
            let service = app.service
            let tv = service.clients["tv"]!
            let now = clock.now()
            let flow = try service.authorizeDevice(client: tv, scope: ScopeSet(["openid", "offline_access", "email"]), now: now)
            guard case .success = try service.approve(userCode: flow.userCode, subject: "bob", authTime: now, now: now),
                  case .tokens(let tokens) = try service.poll(deviceCode: flow.deviceCode, client: tv, now: now) else {
                throw SetupError(description: "a fresh flow did not give tokens")
            }
            return tokens
        }

        private var sample: IssuedTokens?

        /// One access token, minted at the first call and kept while it is valid.
        func sampleAccessToken() throws -> String {
            if let sample, clock.now() < sample.accessTokenRecord.expiresAt { return sample.accessToken }
            let tokens = try freshTokens()
            sample = tokens
            return tokens.accessToken
        }

        /// The request FastCGIWorker builds from these parameters: nginx sends an absent
        /// header as an empty parameter, and CONTENT_LENGTH as the body's length (`L` declares
        /// one over the limit).
        private func makeRequest(_ input: AppInput, fills: [String: String]) -> HTTPRequest {
            func text(_ bytes: [UInt8]) -> String { String(decoding: fill(bytes, fills), as: UTF8.self) }
            let body = fill(input.body, fills)
            let limit = config.server.maxBodyBytes
            let params = [
                "REQUEST_METHOD": text(input.method), "DOCUMENT_URI": text(input.path), "QUERY_STRING": text(input.query),
                "CONTENT_TYPE": text(input.contentType), "HTTP_AUTHORIZATION": text(input.authorization),
                "HTTP_COOKIE": text(input.cookie), "REMOTE_ADDR": text(input.remoteAddress), "DEVICEGATE_REMOTE_USER": text(input.remoteUser),
                "REQUEST_ID": text(input.requestID),
                "CONTENT_LENGTH": input.bodyExceededLimit ? "\(limit + 1)" : body.isEmpty ? "" : "\(body.count)",
            ]
            return FastCGIWorker.request(maxBodyBytes: limit, param: { params[$0] }, read: BodyStream(body).read)
        }
    }
}

/// Replaces every `{name}` whose name is in `fills`.
func fill(_ bytes: [UInt8], _ fills: [String: String]) -> [UInt8] {
    guard !fills.isEmpty, bytes.contains(UInt8(ascii: "{")) else { return bytes }
    var out: [UInt8] = []
    var i = 0
    outer: while i < bytes.count {
        if bytes[i] == UInt8(ascii: "{"), let close = bytes[i...].firstIndex(of: UInt8(ascii: "}")), close - i <= 16 {
            let name = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
            if let value = fills[name] {
                out += value.utf8
                i = close + 1
                continue outer
            }
        }
        out.append(bytes[i])
        i += 1
    }
    return out
}

func makeDirectories(_ path: String) throws {
    var partial = ""
    for component in path.split(separator: "/") {
        partial += "/" + component
        if mkdir(partial, 0o700) != 0 && errno != EEXIST {
            throw AppHarness.Instance.SetupError(description: "mkdir \(partial): errno \(errno)")
        }
    }
}

func writeText(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw AppHarness.Instance.SetupError(description: "cannot write \(path)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw AppHarness.Instance.SetupError(description: "short write to \(path)")
    }
}

/// Renders every message and its metadata, then drops them: the log calls' string building
/// runs (a no-op handler would skip it), nothing is printed.
struct RenderingLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        var text = "\(event.level) \(event.message)"
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { text += " \(key)=\(value)" }
        _ = text.utf8.count
    }
}
