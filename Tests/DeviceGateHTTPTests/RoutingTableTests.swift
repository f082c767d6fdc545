import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import FlowStore
import Logging
import Operations
import Testing

/// What serves /x: the routing table of the default endpoints, and of the configurations that
/// move the page to the root or let one configured path cover another.
struct RoutingTableTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var path: String
        var route: Route
        var testDescription: String { "\(path) → \(route)" }
        init(_ path: String, _ route: Route) { self.path = path; self.route = route }
    }

    static let defaults: [Case] = [
        Case("/application/o/device/", .deviceAuthorization),
        Case("/application/o/token/", .token),
        Case("/application/o/devicegate/.well-known/openid-configuration", .discovery),
        Case("/application/o/devicegate/jwks/", .jwks),
        Case("/application/o/userinfo/", .userinfo),
        Case("/application/o/introspect/", .introspection),
        Case("/application/o/revoke/", .revocation),
        // Exact paths are exact: no trailing-slash or prefix leniency.
        Case("/application/o/token", .notFound),
        Case("/application/o/token/x", .notFound),
        Case("/application/o/devicegate/jwks", .notFound),
        Case("/Application/o/token/", .notFound),
        // The gateway is a prefix: the rest names the requirement.
        Case("/_devicegate/auth/", .authCheck),
        Case("/_devicegate/auth/openid", .authCheck),
        Case("/_devicegate/auth/api.read%20api.write/\"https://orders\"", .authCheck),
        Case("/_devicegate/auth", .notFound),
        Case("/_devicegate/metrics", .metrics),
        Case("/_devicegate/metrics/", .notFound),
        // The verification page and everything under it.
        Case("/device", .verification(.enter)),
        Case("/device/signin", .verification(.signIn)),
        Case("/device/decision", .verification(.decision)),
        Case("/device/signout", .verification(.signOut)),
        Case("/device/style.css", .verification(.stylesheet)),
        Case("/device/", .verification(.trailingSlash)),
        Case("/device/signin/", .verification(.other)),
        Case("/device/nope", .verification(.other)),
        Case("/device/style.css/x", .verification(.other)),
        Case("/devices", .notFound),
        Case("/deviceX/signin", .notFound),
        // Everything else.
        Case("/", .notFound),
        Case("/nope", .notFound),
        Case("", .notFound),
    ]

    @Test(arguments: defaults)
    func defaultEndpoints(_ c: Case) {
        #expect(RoutingTable(testConfiguration()).route(for: c.path) == c.route)
    }

    /// `endpoints.verification: /`: the page takes every path no endpoint has, and there is no
    /// trailing-slash redirect ("//" is the page's 404).
    static let pageAtRoot: [Case] = [
        Case("/", .verification(.enter)),
        Case("/signin", .verification(.signIn)),
        Case("/decision", .verification(.decision)),
        Case("/signout", .verification(.signOut)),
        Case("/style.css", .verification(.stylesheet)),
        Case("//", .verification(.other)),
        Case("/nope", .verification(.other)),
        Case("/application/o/token/", .token),
        Case("/application/o/token", .verification(.other)),
        Case("/_devicegate/auth/openid", .authCheck),
        Case("/_devicegate/metrics", .metrics),
        Case("", .notFound),
    ]

    @Test(arguments: pageAtRoot)
    func verificationAtTheRoot(_ c: Case) {
        var config = testConfiguration()
        config.endpoints.verification = "/"
        #expect(RoutingTable(config).route(for: c.path) == c.route)
    }

    /// Trailing slashes of `endpoints.verification` are dropped; without metrics there is no
    /// metrics route and its path is nobody's.
    static let movedPaths: [Case] = [
        Case("/link", .verification(.enter)),
        Case("/link/", .verification(.trailingSlash)),
        Case("/link/signin", .verification(.signIn)),
        Case("/device", .notFound),
        Case("/_devicegate/metrics", .notFound),
        Case("/gate/x", .authCheck),
    ]

    @Test(arguments: movedPaths)
    func movedPagesAndNoMetrics(_ c: Case) {
        var config = testConfiguration()
        config.endpoints.verification = "/link//"
        config.endpoints.authCheck = "/gate/"
        config.operations.metricsEnabled = false
        #expect(RoutingTable(config).route(for: c.path) == c.route)
    }

    /// When configured paths overlap, the first route in the table's order serves: the OAuth
    /// endpoints, then the OIDC ones, the gateway prefix, the metrics, the page.
    @Test func overlappingPathsFollowTheTableOrder() {
        var config = testConfiguration()
        config.endpoints.userinfo = config.endpoints.token
        config.endpoints.authCheck = "/device/"
        config.operations.metricsPath = "/device/metrics"
        let table = RoutingTable(config)
        #expect(table.route(for: "/application/o/token/") == .token)
        #expect(table.route(for: "/device/metrics") == .authCheck)
        #expect(table.route(for: "/device/signin") == .authCheck)
        #expect(table.route(for: "/device") == .verification(.enter))
    }

    /// The metrics count each request under the route that served it.
    @Test func metricsLabelIsTheRoute() {
        let labels: [(Route, MetricsLayout.Endpoint)] = [
            (.deviceAuthorization, .deviceAuthorization), (.token, .token), (.discovery, .discovery), (.jwks, .jwks),
            (.userinfo, .userinfo), (.introspection, .introspection), (.revocation, .revocation), (.authCheck, .authCheck),
            (.metrics, .metrics), (.verification(.enter), .verification), (.verification(.other), .verification),
            (.verification(.stylesheet), .verification), (.notFound, .other),
        ]
        for (route, label) in labels { #expect(route.metricsEndpoint == label, "\(route)") }
    }

    /// Through the app: each request counted under the route that served it, as the metrics
    /// endpoint reports it (a page's 404 is the page's, an unknown path's is `other`).
    @Test func theAppCountsEachRequestUnderItsRoute() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let directory = StateDirectory(root: temp.path + "/state")
        try directory.prepare()
        let page = try CounterPage.claimSlot(in: directory, layout: MetricsLayout.id, count: MetricsLayout.count)
        let f = try AppFixture(configure: { $0.stateDirectory = directory.root },
                               telemetry: Telemetry(audit: nil, counters: page, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        for path in ["/device", "/device/style.css", "/device/nope", "/device/nope", "/_devicegate/auth/openid", "/nope",
                     "/application/o/token/", "/application/o/devicegate/jwks/", "/_devicegate/metrics/"] {
            _ = f.app.handle(HTTPRequest(method: "GET", path: path))
        }
        let text = f.app.handle(HTTPRequest(method: "GET", path: "/_devicegate/metrics")).bodyText
        for line in [
            #"devicegate_http_requests_total{endpoint="verification",status="200"} 2"#,
            #"devicegate_http_requests_total{endpoint="verification",status="404"} 2"#,
            #"devicegate_http_requests_total{endpoint="auth_check",status="401"} 1"#,
            #"devicegate_http_requests_total{endpoint="other",status="404"} 2"#,
            #"devicegate_http_requests_total{endpoint="token",status="405"} 1"#,
            #"devicegate_http_requests_total{endpoint="jwks",status="200"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line) not in:\n\(text)")
        }
        #expect(!text.contains(#"endpoint="metrics""#))
    }
}
