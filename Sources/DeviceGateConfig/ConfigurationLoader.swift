import DeviceFlow
import Yams

/// One problem in the configuration, with where it is.
public struct ConfigurationIssue: Sendable, Equatable, CustomStringConvertible {
    /// `file:line:column`, or `environment VAR`.
    public var location: String
    /// Dotted key path, e.g. `clients[1].default_scopes`.
    public var key: String
    public var message: String

    public var description: String { "\(location): \(key.isEmpty ? "" : key + ": ")\(message)" }
}

/// Every problem found, not just the first: `devicegate check-config` prints them all.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigurationIssue]
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Reads the YAML configuration file and `DEVICEGATE_*` environment overrides, and validates
/// the result.
public struct ConfigurationLoader {
    /// Environment variables that override single settings, applied after the file.
    public static let environmentOverrides: [(variable: String, key: String)] = [
        ("DEVICEGATE_ISSUER", "issuer"),
        ("DEVICEGATE_STATE_DIR", "state_dir"),
        ("DEVICEGATE_LISTEN", "server.listen"),
        ("DEVICEGATE_WORKERS", "server.workers"),
        ("DEVICEGATE_MAX_BODY_BYTES", "server.max_body_bytes"),
        ("DEVICEGATE_LOG_LEVEL", "server.log_level"),
        ("DEVICEGATE_LOG_FORMAT", "server.log_format"),
        // So the database password need not be in the file.
        ("DEVICEGATE_STORAGE_URL", "storage.url"),
    ]

    public init() {}

    public func load(yaml: String, fileName: String, environment: [String: String] = [:]) throws(ConfigurationError) -> DeviceGateConfiguration {
        var reader = Reader(fileName: fileName)
        var config = DeviceGateConfiguration()
        do {
            if let root = try Yams.compose(yaml: yaml) {
                reader.readRoot(root, into: &config)
            } else {
                reader.issue(nil, "", "the file is empty")
            }
        } catch {
            // Yams quotes the offending line, which may be a storage.url with its password.
            reader.issues.append(.init(location: fileName, key: "", message: "not valid YAML: \(ConnectionStringRedaction.redact("\(error)"))"))
        }
        reader.applyEnvironment(environment, to: &config)
        reader.validate(&config)
        guard reader.issues.isEmpty else { throw ConfigurationError(issues: reader.issues) }
        return config
    }
}

/// Walks the YAML tree, collecting issues with line and column.
struct Reader {
    var fileName: String
    var issues: [ConfigurationIssue] = []
    /// Where each key was found, so validation can point at the line.
    var marks: [String: String] = [:]

    init(fileName: String) { self.fileName = fileName }

    func location(_ node: Node?) -> String {
        guard let mark = node?.mark else { return fileName }
        return "\(fileName):\(mark.line):\(mark.column)"
    }

    mutating func issue(_ node: Node?, _ key: String, _ message: String) {
        issues.append(.init(location: location(node), key: key, message: message))
    }

    mutating func issue(at key: String, _ message: String) {
        issues.append(.init(location: marks[key] ?? fileName, key: key, message: message))
    }

    /// The entries of a mapping, reporting unknown keys (a typo should never be ignored).
    /// `allowed: nil` accepts any key (maps keyed by user name).
    mutating func mapping(_ node: Node, _ path: String, allowed: Set<String>?) -> [(String, Node)] {
        guard case .mapping(let mapping) = node else {
            issue(node, path, "expected a mapping")
            return []
        }
        var out: [(String, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else { issue(keyNode, path, "keys must be strings"); continue }
            let full = path.isEmpty ? scalar.string : "\(path).\(scalar.string)"
            if let allowed, !allowed.contains(scalar.string) {
                issue(keyNode, full, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            marks[full] = location(value)
            out.append((scalar.string, value))
        }
        return out
    }

    mutating func string(_ node: Node, _ key: String) -> String? {
        guard case .scalar(let scalar) = node else { issue(node, key, "expected a string"); return nil }
        return scalar.string
    }

    mutating func int(_ node: Node, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            issue(node, key, "expected a whole number"); return nil
        }
        guard range.contains(value) else { issue(node, key, "must be between \(range.lowerBound) and \(range.upperBound)"); return nil }
        return value
    }

    mutating func strings(_ node: Node, _ key: String) -> [String]? {
        if case .scalar(let scalar) = node {
            return scalar.string.split(separator: " ").map(String.init)
        }
        guard case .sequence(let sequence) = node else { issue(node, key, "expected a list of strings"); return nil }
        var out: [String] = []
        for (i, item) in sequence.enumerated() {
            guard let s = string(item, "\(key)[\(i)]") else { return nil }
            out.append(s)
        }
        return out
    }

    mutating func readRoot(_ root: Node, into config: inout DeviceGateConfiguration) {
        for (key, value) in mapping(root, "", allowed: ["issuer", "state_dir", "server", "lifetimes", "user_code", "endpoints", "clients", "users", "web", "tokens", "audit", "metrics", "admission", "storage"]) {
            switch key {
            case "issuer": config.issuer = string(value, key) ?? config.issuer
            case "state_dir": config.stateDirectory = string(value, key) ?? config.stateDirectory
            case "server": readServer(value, into: &config.server)
            case "lifetimes": readLifetimes(value, into: &config.lifetimes)
            case "user_code": readUserCode(value, into: &config.userCode)
            case "endpoints": readEndpoints(value, into: &config.endpoints)
            case "clients": config.clients = readClients(value)
            case "users": config.users = readUsers(value)
            case "web": readWeb(value, into: &config.web)
            case "tokens": readTokens(value, into: &config.tokens)
            case "audit": readAudit(value, into: &config.operations)
            case "metrics": readMetrics(value, into: &config.operations)
            case "admission": readAdmission(value, into: &config.admission)
            case "storage": readStorage(value, into: &config.storage)
            default: break
            }
        }
    }

    mutating func readServer(_ node: Node, into server: inout DeviceGateConfiguration.Server) {
        for (key, value) in mapping(node, "server", allowed: ["listen", "workers", "max_body_bytes", "log_level", "log_format", "socket_mode",
                                                           "request_read_timeout", "allow_remote_fastcgi"]) {
            let path = "server.\(key)"
            switch key {
            case "listen":
                if let text = string(value, path) {
                    if let address = ListenAddress.parse(text) { server.listen = address } else {
                        issue(value, path, "expected unix:/path, /path, fd:0 or an IPv4 address with port such as 127.0.0.1:9000")
                    }
                }
            case "workers": server.workers = int(value, path, range: 1...256) ?? server.workers
            case "max_body_bytes": server.maxBodyBytes = int(value, path, range: 1024...(16 << 20)) ?? server.maxBodyBytes
            case "log_level": server.logLevel = string(value, path) ?? server.logLevel
            case "log_format":
                guard let text = string(value, path) else { continue }
                if let format = DeviceGateConfiguration.LogFormat(rawValue: text) { server.logFormat = format } else {
                    issue(value, path, "expected text or json")
                }
            case "socket_mode":
                if let text = string(value, path) {
                    if let mode = Int(text, radix: 8), (0...0o777).contains(mode), text.count >= 3 { server.socketMode = mode } else {
                        issue(value, path, "expected octal permission bits such as \"0660\" (quote it in YAML)")
                    }
                }
            case "request_read_timeout": server.requestReadTimeout = int(value, path, range: 1...300) ?? server.requestReadTimeout
            case "allow_remote_fastcgi": server.allowRemoteFastCGI = readPeerAddresses(value, path)
            default: break
            }
        }
    }

    mutating func readLifetimes(_ node: Node, into lifetimes: inout DeviceGateConfiguration.Lifetimes) {
        for (key, value) in mapping(node, "lifetimes", allowed: ["device_code", "poll_interval", "access_token", "expired_retention"]) {
            let path = "lifetimes.\(key)"
            switch key {
            case "device_code": lifetimes.deviceCode = int(value, path, range: 60...86_400) ?? lifetimes.deviceCode
            case "poll_interval": lifetimes.pollInterval = int(value, path, range: 1...60) ?? lifetimes.pollInterval
            case "access_token": lifetimes.accessToken = int(value, path, range: 60...86_400) ?? lifetimes.accessToken
            case "expired_retention": lifetimes.expiredRetention = int(value, path, range: 0...604_800) ?? lifetimes.expiredRetention
            default: break
            }
        }
    }

    mutating func readUserCode(_ node: Node, into format: inout UserCodeFormat) {
        for (key, value) in mapping(node, "user_code", allowed: ["length", "charset", "group_size"]) {
            let path = "user_code.\(key)"
            switch key {
            case "length": format.length = int(value, path, range: 6...20) ?? format.length
            case "group_size": format.groupSize = int(value, path, range: 0...10) ?? format.groupSize
            case "charset":
                if let text = string(value, path) {
                    if let charset = UserCodeFormat.Charset(rawValue: text) { format.charset = charset } else {
                        issue(value, path, "expected base20 (RFC 8628 §6.1 BCDFGHJKLMNPQRSTVWXZ) or digits")
                    }
                }
            default: break
            }
        }
    }

    mutating func readEndpoints(_ node: Node, into endpoints: inout DeviceGateConfiguration.Endpoints) {
        for (key, value) in mapping(node, "endpoints", allowed: ["device_authorization", "token", "verification", "verification_uri", "userinfo", "introspection", "revocation", "auth_check",
                                                                  "authorization", "end_session"]) {
            let path = "endpoints.\(key)"
            guard let text = string(value, path) else { continue }
            if key == "verification_uri" {
                guard text.hasPrefix("https://") || text.hasPrefix("http://") else { issue(value, path, "must be an absolute http(s) URL"); continue }
                endpoints.verificationURI = text
                continue
            }
            guard text.hasPrefix("/"), !text.contains("?"), !text.contains("#"), !text.contains(" ") else {
                issue(value, path, "must be an absolute path such as /application/o/device/"); continue
            }
            switch key {
            case "device_authorization": endpoints.deviceAuthorization = text
            case "token": endpoints.token = text
            case "verification": endpoints.verification = text
            case "userinfo": endpoints.userinfo = text
            case "introspection": endpoints.introspection = text
            case "revocation": endpoints.revocation = text
            case "auth_check": endpoints.authCheck = text.hasSuffix("/") ? text : text + "/"
            case "authorization": endpoints.authorization = text
            case "end_session": endpoints.endSession = text
            default: break
            }
        }
    }

    mutating func readClients(_ node: Node) -> [ClientRegistration] {
        guard case .sequence(let sequence) = node else { issue(node, "clients", "expected a list of clients"); return [] }
        var clients: [ClientRegistration] = []
        var seen: Set<String> = []
        for (index, item) in sequence.enumerated() {
            let base = "clients[\(index)]"
            var id: String?, name: String?, type = "public", secretHash: String?
            var allowed: [String]?, defaults: [String]?
            var typeNode: Node?
            var refreshTokens = false
            var introspection = false, introspectionNode: Node?
            var audience: String?
            var grantTypes: Set<GrantType>?, grantTypesNode: Node?
            var redirectURIs: [String] = [], postLogoutRedirectURIs: [String] = []
            var lifetimes = ClientLifetimes()
            var skipsConsent = false
            for (key, value) in mapping(item, base, allowed: ["client_id", "name", "type", "secret_hash", "allowed_scopes", "default_scopes", "refresh_tokens", "introspection", "audience",
                                                              "grant_types", "redirect_uris", "post_logout_redirect_uris", "lifetimes", "skip_consent"]) {
                let path = "\(base).\(key)"
                switch key {
                case "client_id": id = string(value, path)
                case "name": name = string(value, path)
                case "type": type = string(value, path) ?? type; typeNode = value
                case "secret_hash": secretHash = string(value, path)
                case "allowed_scopes": allowed = strings(value, path)
                case "default_scopes": defaults = strings(value, path)
                case "refresh_tokens":
                    guard let text = string(value, path), let flag = Bool(text) else { issue(value, path, "expected true or false"); continue }
                    refreshTokens = flag
                case "introspection":
                    guard let text = string(value, path), let flag = Bool(text) else { issue(value, path, "expected true or false"); continue }
                    introspection = flag
                    introspectionNode = value
                case "audience": audience = audienceValue(value, path)
                case "grant_types":
                    grantTypesNode = value
                    guard let names = strings(value, path) else { continue }
                    var set: Set<GrantType> = []
                    for name in names {
                        guard let grant = GrantType(rawValue: name) else {
                            issue(value, path, "unknown grant type '\(name)': expected device_code, authorization_code, client_credentials or refresh_token")
                            continue
                        }
                        set.insert(grant)
                    }
                    if set.isEmpty && names.isEmpty { issue(value, path, "lists no grant type: the client could do nothing") }
                    grantTypes = set
                case "redirect_uris": redirectURIs = redirectURIList(value, path, what: "redirect URI")
                case "post_logout_redirect_uris": postLogoutRedirectURIs = redirectURIList(value, path, what: "post-logout redirect URI")
                case "lifetimes": lifetimes = readClientLifetimes(value, path)
                case "skip_consent":
                    guard let text = string(value, path), let flag = Bool(text) else { issue(value, path, "expected true or false"); continue }
                    skipsConsent = flag
                default: break
                }
            }
            guard let clientID = id, !clientID.isEmpty else { issue(item, "\(base).client_id", "is required"); continue }
            if !clientID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) {
                issue(at: "\(base).client_id", "may hold only printable ASCII without spaces or ':'")
            }
            if !seen.insert(clientID).inserted { issue(at: "\(base).client_id", "duplicate client_id \(clientID)") }
            let allowedScopes = ScopeSet(allowed ?? ["openid"])
            let defaultScopes = ScopeSet(defaults ?? allowedScopes.tokens.filter { $0 == "openid" })
            for scope in allowedScopes where !ScopeSet.isValidToken(scope) {
                issue(at: "\(base).allowed_scopes", "'\(scope)' is not a valid scope token (RFC 6749 §3.3)")
            }
            let outside = defaultScopes.subtracting(allowedScopes)
            if !outside.isEmpty {
                issue(at: "\(base).default_scopes", "not in allowed_scopes: \(outside.joined(separator: " "))")
            }
            let kind: ClientRegistration.Kind
            switch type {
            case "public":
                if secretHash != nil { issue(at: "\(base).secret_hash", "a public client has no secret; set type: confidential or remove it") }
                if introspection {
                    issue(introspectionNode, "\(base).introspection", "a resource server must authenticate (RFC 7662 §2.1): set type: confidential with a secret_hash, or remove introspection")
                }
                kind = .public
            case "confidential":
                guard let hash = secretHash else {
                    issue(item, "\(base).secret_hash", "is required for a confidential client (devicegate hash-secret prints one)"); continue
                }
                guard hash.hasPrefix("sha256:"), let digest = Encoding.bytes(fromHex: String(hash.dropFirst(7))), digest.count == 32 else {
                    issue(at: "\(base).secret_hash", "expected sha256:<64 hex digits> (devicegate hash-secret prints one)"); continue
                }
                kind = .confidential(secretSHA256: digest)
            default:
                issue(typeNode, "\(base).type", "expected public or confidential"); continue
            }
            let grants = grantTypes ?? GrantType.defaults
            // Contradictions: settings that could never take effect, or a client that could not work.
            if grants.contains(.authorizationCode) && redirectURIs.isEmpty {
                issue(grantTypesNode ?? item, "\(base).redirect_uris", "authorization_code needs at least one redirect URI (RFC 6749 §3.1.2.2)")
            }
            if !redirectURIs.isEmpty && !grants.contains(.authorizationCode) {
                issue(at: "\(base).redirect_uris", "is used only by the authorization_code grant, which grant_types does not list")
            }
            if !postLogoutRedirectURIs.isEmpty && !grants.contains(.authorizationCode) {
                issue(at: "\(base).post_logout_redirect_uris", "is used only by web apps signing in with authorization_code, which grant_types does not list")
            }
            if grants.contains(.clientCredentials) && type == "public" {
                issue(grantTypesNode, "\(base).grant_types", "client_credentials is for confidential clients only (RFC 6749 §4.4): a public client cannot authenticate")
            }
            if refreshTokens && !grants.contains(.refreshToken) {
                issue(at: "\(base).refresh_tokens", "issues refresh tokens the client could never use: add refresh_token to grant_types")
            }
            if skipsConsent && type == "public" {
                issue(at: "\(base).skip_consent", "is for confidential clients only: a public client's identity cannot be assured, so any local program could take its codes without the person seeing a page (RFC 8252 §8.6)")
            }
            if skipsConsent && !grants.contains(.authorizationCode) {
                issue(at: "\(base).skip_consent", "applies only to the authorization_code grant (the device flow always asks: RFC 8628 §5.4)")
            }
            if lifetimes.deviceCode != nil || lifetimes.pollInterval != nil, !grants.contains(.deviceCode) {
                issue(at: "\(base).lifetimes", "device_code and poll_interval apply only to the device_code grant, which grant_types does not list")
            }
            if let poll = lifetimes.pollInterval, let device = lifetimes.deviceCode, poll >= device {
                issue(at: "\(base).lifetimes.poll_interval", "must be shorter than lifetimes.device_code")
            }
            if lifetimes.refreshToken != nil && !grants.contains(.refreshToken) {
                issue(at: "\(base).lifetimes.refresh_token", "applies only to refresh tokens, and grant_types does not list refresh_token")
            }
            clients.append(ClientRegistration(clientID: clientID, displayName: name ?? clientID, kind: kind,
                                              allowedScopes: allowedScopes, defaultScopes: defaultScopes, issuesRefreshTokens: refreshTokens,
                                              mayIntrospectAnyToken: introspection, audience: audience, grantTypes: grants,
                                              redirectURIs: redirectURIs, postLogoutRedirectURIs: postLogoutRedirectURIs,
                                              lifetimes: lifetimes, skipsConsent: skipsConsent))
        }
        return clients
    }

    /// `clients[].lifetimes`: the global `lifetimes:` keys plus the token lifetimes, each with
    /// the same range as its global setting.
    mutating func readClientLifetimes(_ node: Node, _ base: String) -> ClientLifetimes {
        var lifetimes = ClientLifetimes()
        for (key, value) in mapping(node, base, allowed: ["device_code", "poll_interval", "access_token", "id_token", "refresh_token"]) {
            let path = "\(base).\(key)"
            switch key {
            case "device_code": lifetimes.deviceCode = int(value, path, range: 60...86_400)
            case "poll_interval": lifetimes.pollInterval = int(value, path, range: 1...60)
            case "access_token": lifetimes.accessToken = int(value, path, range: 60...86_400)
            case "id_token": lifetimes.idToken = int(value, path, range: 60...86_400)
            case "refresh_token": lifetimes.refreshToken = int(value, path, range: 3600...(365 * 86_400))
            default: break
            }
        }
        return lifetimes
    }

    /// A list of absolute redirect URIs, RFC 6749 §3.1.2: no fragment; https, or http only to
    /// a loopback address (RFC 8252 §7.3, RFC 9700 §2.6); or a private-use scheme of a native
    /// app (RFC 8252 §7.1, with a '.' as a reverse domain name). No '*': matching is exact.
    mutating func redirectURIList(_ node: Node, _ path: String, what: String) -> [String] {
        guard let uris = strings(node, path) else { return [] }
        var out: [String] = []
        for (i, uri) in uris.enumerated() {
            let at = "\(path)[\(i)]"
            if let problem = Self.redirectURIProblem(uri) { issue(node, at, "\(what) \(uri.prefix(100)): \(problem)"); continue }
            out.append(uri)
        }
        return out
    }

    static func redirectURIProblem(_ uri: String) -> String? {
        guard uri.utf8.count <= 2000 else { return "is longer than 2000 bytes" }
        guard uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return "must be printable ASCII without spaces (percent-encode the rest)" }
        if uri.contains("#") { return "must not contain a fragment (RFC 6749 §3.1.2)" }
        if uri.contains("*") { return "must not contain '*': redirect URIs are matched exactly (RFC 9700 §4.1.3)" }
        guard let colon = uri.firstIndex(of: ":") else { return "must be an absolute URI such as https://app.example.com/callback" }
        let scheme = uri[..<colon].lowercased()
        let rest = uri[uri.index(after: colon)...]
        let authority = rest.hasPrefix("//") ? rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" } : ""
        // RFC 3986 §3.2.1 userinfo: `http://127.0.0.1:1@evil.example/` is evil.example.
        if authority.contains("@") { return "must not contain userinfo ('@' before the host)" }
        switch scheme {
        case "https":
            guard rest.hasPrefix("//"), !authority.isEmpty else { return "must name a host: https://host/path" }
            return nil
        case "http":
            // The whole authority: a loopback host, then at most `:port`.
            let host: Substring, port: Substring
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = authority[...close]
                port = authority[authority.index(after: close)...]
            } else {
                host = authority.prefix { $0 != ":" }
                port = authority.dropFirst(host.count)
            }
            let portOK = port.isEmpty || (port.first == ":" && (2...6).contains(port.count) && port.dropFirst().allSatisfy { $0.isASCII && $0.isNumber })
            guard ["127.0.0.1", "[::1]", "localhost"].contains(String(host)), portOK else {
                return "http is allowed only for a loopback address (http://127.0.0.1:PORT/…, RFC 8252 §7.3); use https"
            }
            return nil
        default:
            guard scheme.contains("."), scheme.first?.isLetter == true,
                  scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "+" || $0 == "-" }) else {
                return "a private-use scheme must be a reverse domain name such as com.example.app:/callback (RFC 8252 §7.1)"
            }
            return nil
        }
    }

    mutating func readUsers(_ node: Node) -> [String: UserClaims] {
        var users: [String: UserClaims] = [:]
        for (username, value) in mapping(node, "users", allowed: nil) {
            let base = "users.\(username)"
            var claims = UserClaims()
            for (key, v) in mapping(value, base, allowed: ["name", "email", "email_verified", "groups"]) {
                let path = "\(base).\(key)"
                switch key {
                case "name": claims.name = string(v, path)
                case "email": claims.email = string(v, path)
                case "email_verified":
                    guard let text = string(v, path), let flag = Bool(text) else { issue(v, path, "expected true or false"); continue }
                    claims.emailVerified = flag
                case "groups": claims.groups = strings(v, path) ?? []
                default: break
                }
            }
            users[username] = claims
        }
        return users
    }

    mutating func applyEnvironment(_ environment: [String: String], to config: inout DeviceGateConfiguration) {
        for (variable, key) in ConfigurationLoader.environmentOverrides {
            guard let value = environment[variable] else { continue }
            marks[key] = "environment \(variable)"
            func bad(_ message: String) { issues.append(.init(location: "environment \(variable)", key: key, message: message)) }
            switch key {
            case "issuer": config.issuer = value
            case "state_dir": config.stateDirectory = value
            case "server.listen":
                if let address = ListenAddress.parse(value) { config.server.listen = address } else { bad("expected unix:/path, /path, fd:0 or 127.0.0.1:PORT") }
            case "server.workers":
                if let n = Int(value), (1...256).contains(n) { config.server.workers = n } else { bad("expected a number from 1 to 256") }
            case "server.max_body_bytes":
                if let n = Int(value), (1024...(16 << 20)).contains(n) { config.server.maxBodyBytes = n } else { bad("expected a number from 1024 to 16777216") }
            case "server.log_level": config.server.logLevel = value
            case "server.log_format":
                if let format = DeviceGateConfiguration.LogFormat(rawValue: value) { config.server.logFormat = format } else { bad("expected text or json") }
            case "storage.url":
                if let problem = StorageSettings.urlProblem(value) { bad(problem) } else { config.storage.url = value }
            default: break
            }
        }
    }

    static let logLevels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Checks that need the whole configuration.
    mutating func validate(_ config: inout DeviceGateConfiguration) {
        if config.issuer.isEmpty {
            issue(at: "issuer", "is required, e.g. https://auth.example.com/application/o/devicegate/")
        } else if !config.issuer.hasPrefix("https://") {
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            if !loopback.contains(where: { config.issuer.hasPrefix($0 + ":") || config.issuer.hasPrefix($0 + "/") || config.issuer == $0 }) {
                issue(at: "issuer", "must be an https:// URL (http:// is allowed only for 127.0.0.1, localhost or [::1])")
            }
        }
        if config.issuer.contains("?") || config.issuer.contains("#") {
            issue(at: "issuer", "must not contain a query or fragment (OIDC Discovery §3)")
        }
        if !config.stateDirectory.hasPrefix("/") { issue(at: "state_dir", "must be an absolute path") }
        if !Self.logLevels.contains(config.server.logLevel) {
            issue(at: "server.log_level", "expected one of \(Self.logLevels.sorted().joined(separator: ", "))")
        }
        let paths = [("endpoints.device_authorization", config.endpoints.deviceAuthorization),
                     ("endpoints.token", config.endpoints.token), ("endpoints.verification", config.endpoints.verification),
                     ("endpoints.userinfo", config.endpoints.userinfo), ("endpoints.introspection", config.endpoints.introspection),
                     ("endpoints.revocation", config.endpoints.revocation), ("endpoints.auth_check", config.endpoints.authCheck),
                     ("endpoints.authorization", config.endpoints.authorization), ("endpoints.end_session", config.endpoints.endSession),
                     ("discovery ({issuer}/.well-known/openid-configuration)", config.discoveryPath), ("jwks ({issuer}/jwks/)", config.jwksPath)]
            + (config.operations.metricsEnabled ? [("metrics.path", config.operations.metricsPath)] : [])
        for (i, a) in paths.enumerated() {
            for b in paths[(i + 1)...] where a.1 == b.1 {
                issue(at: b.0, "is the same path as \(a.0)")
            }
        }
        // RFC 8628 §5.1: the user code must carry enough entropy for the brute-force limits.
        let minimumBits = 25.0
        if config.userCode.entropyBits < minimumBits {
            issue(at: "user_code.length", "gives only \(Int(config.userCode.entropyBits)) bits of entropy; RFC 8628 §5.1 needs enough to resist guessing (at least \(Int(minimumBits)): 6+ base20 characters or 8+ digits)")
        }
        if config.lifetimes.pollInterval >= config.lifetimes.deviceCode {
            issue(at: "lifetimes.poll_interval", "must be shorter than lifetimes.device_code")
        }
        validateServer(config.server, signIn: config.web.signIn)
        validateStorage(config)
        validateWeb(config)
        if config.clients.isEmpty && !issues.contains(where: { $0.key.hasPrefix("clients") }) {
            issue(at: "clients", "at least one client is required")
        }
    }
}
