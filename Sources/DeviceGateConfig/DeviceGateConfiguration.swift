import DeviceFlow

/// Where the FastCGI socket listens.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)
    /// Use the listening socket already on fd 0 (systemd socket activation, spawn-fcgi).
    case inherited

    /// Parses `unix:/run/x.sock`, `/run/x.sock`, `127.0.0.1:9000` or `fd:0`.
    public static func parse(_ text: String) -> ListenAddress? {
        if text == "fd:0" || text == "inherit" { return .inherited }
        if text.hasPrefix("unix:") { let p = String(text.dropFirst(5)); return p.hasPrefix("/") ? .unix(path: p) : nil }
        if text.hasPrefix("/") { return .unix(path: text) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ Int($0).map { (0...255).contains($0) } ?? false }) else { return nil }
        return .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "\(host):\(port)"
        case .inherited: return "fd:0"
        }
    }
}

/// The whole configuration: what `devicegate check-config` validates and every command reads.
public struct DeviceGateConfiguration: Sendable {
    public struct Server: Sendable, Equatable {
        public var listen: ListenAddress = .unix(path: "/run/devicegate/devicegate.sock")
        public var workers: Int = 4
        /// Request bodies above this get 413 (RFC 9110 §15.5.14).
        public var maxBodyBytes: Int = 65_536
        public var logLevel: String = "info"
        /// Permission bits of a unix socket that `serve` binds itself: 0660 lets the service
        /// user and its group (nginx's) connect, nobody else.
        public var socketMode: Int = 0o660
        /// `text` (swift-log's stream format) or `json` (one object per line, for log shippers).
        public var logFormat: LogFormat = .text
        /// Seconds an accepted FastCGI connection may stay silent while its request is read
        /// (SO_RCVTIMEO on each read): a peer that connects and sends nothing, or stops half-way,
        /// gives its worker back after this long instead of pinning it forever.
        public var requestReadTimeout: Int = 5
        /// The web servers allowed to connect to a TCP `listen` (IPv4 or IPv6 literals). Empty
        /// (the default): loopback peers only, and a TCP `listen` on a non-loopback address is
        /// refused. A peer not listed is closed before anything is read from it.
        public var allowRemoteFastCGI: [String] = []
        public init() {}
    }

    public enum LogFormat: String, Sendable, Equatable {
        case text, json
    }

    public struct Lifetimes: Sendable, Equatable {
        /// RFC 8628 §3.2 `expires_in`.
        public var deviceCode: Int = 600
        /// RFC 8628 §3.2 `interval`.
        public var pollInterval: Int = 5
        public var accessToken: Int = 3600
        /// How long expired flows stay, so late polls get `expired_token` rather than
        /// `invalid_grant`, before garbage collection removes them.
        public var expiredRetention: Int = 3600
        public init() {}
    }

    public struct Endpoints: Sendable, Equatable {
        public var deviceAuthorization = "/application/o/device/"
        public var token = "/application/o/token/"
        public var verification = "/device"
        /// Absolute `verification_uri`; derived from the issuer's origin and `verification`
        /// when not set.
        public var verificationURI: String?
        /// OIDC Core §5.3.
        public var userinfo = "/application/o/userinfo/"
        /// RFC 7662.
        public var introspection = "/application/o/introspect/"
        /// RFC 7009.
        public var revocation = "/application/o/revoke/"
        /// Prefix of the nginx `auth_request` check; the rest of the path names the scopes a
        /// location requires, e.g. `/_devicegate/auth/orders.read`.
        public var authCheck = "/_devicegate/auth/"
        /// RFC 6749 §3.1, OIDC Core §3.1.2: authentik's path.
        public var authorization = "/application/o/authorize/"
        /// OIDC RP-Initiated Logout 1.0 §2 `end_session_endpoint`.
        public var endSession = "/application/o/end-session/"
        public init() {}
    }

    /// The issuer identifier (OIDC Core §2 `iss`), an https URL (http only for loopback).
    public var issuer: String = ""
    public var stateDirectory: String = "/var/lib/devicegate"
    public var server = Server()
    public var lifetimes = Lifetimes()
    public var userCode = UserCodeFormat()
    public var endpoints = Endpoints()
    public var clients: [ClientRegistration] = []
    /// Per-user claims by username (OIDC Core §5.1), for id_tokens, userinfo and the consent page.
    public var users: [String: UserClaims] = [:]
    /// The verification page: sign-in, sessions, brute-force limits, branding.
    public var web = WebSettings()
    /// Signed tokens: keys, refresh tokens, the gateway.
    public var tokens = TokenSettings()
    /// Audit log, metrics.
    public var operations = OperationsSettings()
    /// Caps on pending flows and the state filesystem's reserve.
    public var admission = AdmissionSettings()
    /// Where the shared state lives: `state_dir` (the default) or PostgreSQL.
    public var storage = StorageSettings()

    public init() {}

    /// Where audit events go: `audit.file`, or `<state_dir>/audit.jsonl`.
    public var auditDestination: AuditDestination {
        operations.audit ?? .file(path: stateDirectory + "/audit.jsonl")
    }

    /// scheme://host[:port] of the issuer.
    public var issuerOrigin: String {
        guard let schemeEnd = issuer.range(of: "://") else { return issuer }
        let rest = issuer[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        return String(issuer[..<hostEnd])
    }

    /// The issuer's path, always ending in "/": authentik's per-application `/application/o/<slug>/`.
    public var issuerPath: String {
        let path = String(issuer.dropFirst(issuerOrigin.count))
        return path.hasSuffix("/") ? (path.isEmpty ? "/" : path) : path + "/"
    }

    /// OIDC Discovery §4: `{issuer}/.well-known/openid-configuration`.
    public var discoveryPath: String { issuerPath + ".well-known/openid-configuration" }
    /// authentik's JWKS shape: `/application/o/<slug>/jwks/`.
    public var jwksPath: String { issuerPath + "jwks/" }

    public func absoluteURL(_ path: String) -> String { issuerOrigin + path }

    public var keysDirectory: String { tokens.keysDirectory ?? stateDirectory + "/keys" }

    public var verificationURI: String {
        endpoints.verificationURI ?? (issuerOrigin + endpoints.verification)
    }

    public var flowPolicy: FlowPolicy {
        FlowPolicy(deviceCodeLifetime: lifetimes.deviceCode, pollInterval: lifetimes.pollInterval,
                   userCode: userCode, verificationURI: verificationURI)
    }

    public var clientRegistry: ClientRegistry { ClientRegistry(clients) }
}
