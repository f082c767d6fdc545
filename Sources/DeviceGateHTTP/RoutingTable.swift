import DeviceGateConfig
import Observability

/// What serves a request: the one answer to "what serves /x?".
///
/// `RoutingTable` maps a path to a `Route`; `DeviceGateApp.respond` hands each route to the
/// handler named below, and the metrics count the request under the route's label. The method
/// is each handler's business (405 with `Allow` where a path takes only some methods).
public enum Route: Hashable, Sendable {
    /// `OAuthEndpoints.deviceAuthorization`, RFC 8628 §3.1 (POST).
    case deviceAuthorization
    /// `OAuthEndpoints.token`, RFC 8628 §3.4 and RFC 6749 §6 (POST).
    case token
    /// `OIDCEndpoints.discovery`, OIDC Discovery §4 (GET, HEAD).
    case discovery
    /// `OIDCEndpoints.jwks`, RFC 7517 §5 (GET, HEAD).
    case jwks
    /// `OIDCEndpoints.userinfo`, OIDC Core §5.3 (GET, POST).
    case userinfo
    /// `OIDCEndpoints.introspection`, RFC 7662 (POST).
    case introspection
    /// `OIDCEndpoints.revocation`, RFC 7009 (POST).
    case revocation
    /// `OIDCEndpoints.authCheck`: nginx `auth_request`; the rest of the path after the prefix
    /// names the required scopes and audience (`GatewayRequirement`).
    case authCheck
    /// `MetricsEndpoint`, Prometheus text (GET, HEAD); routed only with `metrics.enabled`.
    case metrics
    /// The verification page, RFC 8628 §3.3 (`VerificationPage` in DeviceGateWeb).
    case verification(VerificationRoute)
    /// No route: `DeviceGateApp` answers 404 `not_found`.
    case notFound

    /// The `endpoint` label of the request metrics.
    public var metricsEndpoint: MetricsLayout.Endpoint {
        switch self {
        case .deviceAuthorization: return .deviceAuthorization
        case .token: return .token
        case .discovery: return .discovery
        case .jwks: return .jwks
        case .userinfo: return .userinfo
        case .introspection: return .introspection
        case .revocation: return .revocation
        case .authCheck: return .authCheck
        case .metrics: return .metrics
        case .verification: return .verification
        case .notFound: return .other
        }
    }
}

/// The pages under `endpoints.verification`; `VerificationPage` answers each by method.
public enum VerificationRoute: Hashable, Sendable {
    /// `/device`: GET the code entry, POST a code.
    case enter
    /// `/device/signin`: POST the embedded sign-in.
    case signIn
    /// `/device/decision`: POST approve or deny.
    case decision
    /// `/device/signout`: POST.
    case signOut
    /// `/device/style.css`: GET.
    case stylesheet
    /// `/device/connected`: "Your devices" (GET lists the person's grants, POST disconnects one
    /// or, before sign-in, signs in).
    case connected
    /// `endpoints.authorization` (`/application/o/authorize/`): the authorization endpoint,
    /// RFC 6749 §3.1 and OIDC Core §3.1.2 (GET, POST). Validates the request, answers
    /// `prompt=none` itself, and sends the browser on to `.authorizationPage` when the person
    /// must sign in or consent.
    case authorization
    /// `/device/authorize`: sign-in and consent for an authorization request (GET shows the
    /// step, POST decides), under the verification page's path so that nginx authenticates
    /// it like the rest of the page in delegated sign-in.
    case authorizationPage
    /// `endpoints.end_session` (`/application/o/end-session/`): OIDC RP-Initiated Logout
    /// 1.0 (GET, POST).
    case endSession
    /// `/device/` (a hand-typed URL): GET redirects to `/device`, keeping `?code=`.
    case trailingSlash
    /// Anything else under `/device/`: the page's own 404.
    case other
}

/// The verification page's paths, from `endpoints.verification` without trailing slashes.
public struct VerificationPaths: Sendable, Equatable {
    public let enter: String
    public let signIn: String
    public let decision: String
    public let signOut: String
    public let stylesheet: String
    /// "Your devices".
    public let connected: String
    /// Sign-in and consent of an authorization request.
    public let authorization: String
    /// What every other page path starts with: `/device/`, or `/` when the page is at the root.
    public let prefix: String

    public init(verification: String) {
        var base = verification
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        let under = base == "/" ? "" : base
        enter = base
        signIn = under + "/signin"
        decision = under + "/decision"
        signOut = under + "/signout"
        stylesheet = under + "/style.css"
        connected = under + "/connected"
        authorization = under + "/authorize"
        prefix = under + "/"
    }
}

/// The routes of one configuration, built once: exact paths and prefixes, asked in the order
/// written in `init`, the first match winning. The order is what decides when two configured
/// paths overlap (a prefix that covers an exact path written after it), as the endpoints were
/// asked before there was a table.
public struct RoutingTable: Sendable {
    public enum Pattern: Hashable, Sendable {
        case exact(String)
        case prefix(String)

        func matches(_ path: String) -> Bool {
            switch self {
            case .exact(let exact): return path == exact
            case .prefix(let prefix): return path.hasPrefix(prefix)
            }
        }
    }

    public struct Entry: Hashable, Sendable {
        public let pattern: Pattern
        public let route: Route
    }

    /// Every route, in the order they are asked.
    public let entries: [Entry]
    public let verification: VerificationPaths

    public init(_ configuration: DeviceGateConfiguration) {
        let endpoints = configuration.endpoints
        let page = VerificationPaths(verification: endpoints.verification)
        var entries: [Entry] = []
        func add(_ pattern: Pattern, _ route: Route) { entries.append(Entry(pattern: pattern, route: route)) }
        // The device flow.
        add(.exact(endpoints.deviceAuthorization), .deviceAuthorization)
        add(.exact(endpoints.token), .token)
        // Using the tokens: discovery and JWKS under the issuer's path, then the endpoints.
        add(.exact(configuration.discoveryPath), .discovery)
        add(.exact(configuration.jwksPath), .jwks)
        add(.exact(endpoints.userinfo), .userinfo)
        add(.exact(endpoints.introspection), .introspection)
        add(.exact(endpoints.revocation), .revocation)
        add(.prefix(endpoints.authCheck), .authCheck)
        // A web app's sign-in: the authorization endpoint and RP-initiated logout.
        add(.exact(endpoints.authorization), .verification(.authorization))
        add(.exact(endpoints.endSession), .verification(.endSession))
        // The operator's.
        if configuration.operations.metricsEnabled { add(.exact(configuration.operations.metricsPath), .metrics) }
        // The person's: the verification page and everything under it.
        add(.exact(page.enter), .verification(.enter))
        add(.exact(page.signIn), .verification(.signIn))
        add(.exact(page.decision), .verification(.decision))
        add(.exact(page.signOut), .verification(.signOut))
        add(.exact(page.stylesheet), .verification(.stylesheet))
        add(.exact(page.connected), .verification(.connected))
        add(.exact(page.authorization), .verification(.authorizationPage))
        if page.enter != "/" { add(.exact(page.prefix), .verification(.trailingSlash)) }
        add(.prefix(page.prefix), .verification(.other))
        self.entries = entries
        self.verification = page
    }

    /// The route that serves `path`; `.notFound` when none does.
    public func route(for path: String) -> Route {
        for entry in entries where entry.pattern.matches(path) { return entry.route }
        return .notFound
    }
}
