import DeviceFlow
import DeviceGateConfig
import Logging
import Observability

/// The verification page as the app sees it (DeviceGateWeb's `VerificationPage`): one of its
/// routes in, a page out.
public protocol VerificationResponder: AnyObject {
    func respond(to route: VerificationRoute, _ request: HTTPRequest, logger: Logger) -> HTTPResponse
}

/// The transport-neutral application: one request in, one response out.
///
/// The routing table names the route; the route's handler answers (`respond`). Every OAuth
/// failure becomes an RFC 6749 §5.2 JSON error; a storage failure becomes 503
/// `temporarily_unavailable`. Nothing a client sends can make it trap.
///
/// Built once per process, with every handler given at construction:
/// `DeviceGateApp.assemble` (DeviceGateAssembly) wires it for the worker, the tests and the fuzzer.
public final class DeviceGateApp {
    public let configuration: DeviceGateConfiguration
    public let routes: RoutingTable
    public let oauth: OAuthEndpoints
    public let oidc: OIDCEndpoints
    /// Nil with `metrics.enabled: false`; the table then has no metrics route.
    public let metrics: MetricsEndpoint?
    public let verification: any VerificationResponder
    /// Audit events and the counters behind the metrics.
    public let telemetry: Telemetry
    let clock: any WallClock
    let logger: Logger

    public init(configuration: DeviceGateConfiguration, routes: RoutingTable, oauth: OAuthEndpoints, oidc: OIDCEndpoints,
                metrics: MetricsEndpoint?, verification: any VerificationResponder, telemetry: Telemetry, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.routes = routes
        self.oauth = oauth
        self.oidc = oidc
        self.metrics = metrics
        self.verification = verification
        self.telemetry = telemetry
        self.clock = clock
        self.logger = logger
    }

    /// The flow operations the endpoints call.
    public var service: FlowService { oauth.context.service }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = Telemetry.monotonicMicroseconds()
        var logger = self.logger
        if !request.requestID.isEmpty { logger[metadataKey: "request.id"] = "\(request.requestID)" }
        let route = routes.route(for: request.path)
        let response: HTTPResponse
        if request.method.isEmpty || request.path.isEmpty {
            response = OAuthResponses.error(.invalidRequest("malformed request: the web server sent no REQUEST_METHOD or DOCUMENT_URI"))
        } else {
            response = respond(route, request, logger: logger)
        }
        logger.debug("request", metadata: [
            "http.method": "\(request.method)", "http.path": "\(request.path.prefix(200))",
            "http.status": "\(response.status)", "client.address": "\(request.remoteAddress)",
        ])
        telemetry.flushUnknownCodes(now: clock.now())
        telemetry.observe(route.metricsEndpoint, status: response.status, microseconds: Telemetry.monotonicMicroseconds() &- started)
        return response
    }

    /// Each route's handler (see `Route`). A request reaches exactly one handler, once.
    func respond(_ route: Route, _ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        switch route {
        case .deviceAuthorization: return oauth.deviceAuthorization(request, logger: logger)
        case .token: return oauth.token(request, logger: logger)
        case .discovery: return oidc.discovery(request)
        case .jwks: return oidc.jwks(request)
        case .userinfo: return oidc.userinfo(request)
        case .introspection: return oidc.introspection(request, logger: logger)
        case .revocation: return oidc.revocation(request, logger: logger)
        case .authCheck: return oidc.authCheck(request, logger: logger)
        case .metrics: return metrics?.respond(request, logger: logger) ?? notFound(request)
        case .verification(let page): return verification.respond(to: page, request, logger: logger)
        case .notFound: return notFound(request)
        }
    }

    func notFound(_ request: HTTPRequest) -> HTTPResponse {
        OAuthResponses.error(.notFound("no such endpoint: \(request.path.prefix(200))"))
    }
}
