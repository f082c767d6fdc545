import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DirectoryStorage
import HostFiles
import Logging
import Observability
import Testing

/// What serves /x: the routing table of the default endpoints, and of the configurations that
/// move the page to the root or let one configured path cover another.
struct RoutingTableTests {
    /// The configurations the table is read under.
    enum Layout: Sendable {
        /// The default endpoints.
        case defaults
        /// `endpoints.verification: /`: the page takes every path no endpoint has, and there is
        /// no trailing-slash redirect ("//" is the page's 404).
        case pageAtRoot
        /// Trailing slashes of `endpoints.verification` dropped, the gateway moved, and no
        /// metrics: no metrics route, and its path is nobody's.
        case moved

        var configuration: DeviceGateConfiguration {
            var config = testConfiguration()
            switch self {
            case .defaults: break
            case .pageAtRoot: config.endpoints.verification = "/"
            case .moved:
                config.endpoints.verification = "/link//"
                config.endpoints.authCheck = "/gate/"
                config.operations.metricsEnabled = false
            }
            return config
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var layout: Layout
        var path: String
        var route: Route
        var testDescription: String { "\(layout): \(path) → \(route)" }
        init(_ layout: Layout, _ path: String, _ route: Route) { self.layout = layout; self.path = path; self.route = route }
    }

    static let cases: [Case] = [
        Case(.defaults, "/application/o/device/", .deviceAuthorization),
        Case(.defaults, "/application/o/token/", .token),
        Case(.defaults, "/application/o/devicegate/.well-known/openid-configuration", .discovery),
        Case(.defaults, "/application/o/devicegate/jwks/", .jwks),
        Case(.defaults, "/application/o/userinfo/", .userinfo),
        Case(.defaults, "/application/o/introspect/", .introspection),
        Case(.defaults, "/application/o/revoke/", .revocation),
        // Exact paths are exact: no trailing-slash or prefix leniency.
        Case(.defaults, "/application/o/token", .notFound),
        Case(.defaults, "/application/o/token/x", .notFound),
        Case(.defaults, "/application/o/devicegate/jwks", .notFound),
        Case(.defaults, "/Application/o/token/", .notFound),
        // The gateway is a prefix: the rest names the requirement.
        Case(.defaults, "/_devicegate/auth/", .authCheck),
        Case(.defaults, "/_devicegate/auth/openid", .authCheck),
        Case(.defaults, "/_devicegate/auth/api.read%20api.write/\"https://orders\"", .authCheck),
        Case(.defaults, "/_devicegate/auth", .notFound),
        Case(.defaults, "/_devicegate/metrics", .metrics),
        Case(.defaults, "/_devicegate/metrics/", .notFound),
        // The verification page and everything under it.
        Case(.defaults, "/device", .verification(.enter)),
        Case(.defaults, "/device/signin", .verification(.signIn)),
        Case(.defaults, "/device/decision", .verification(.decision)),
        Case(.defaults, "/device/signout", .verification(.signOut)),
        Case(.defaults, "/device/style.css", .verification(.stylesheet)),
        Case(.defaults, "/device/connected", .verification(.connected)),
        Case(.defaults, "/device/connected/", .verification(.other)),
        Case(.defaults, "/device/", .verification(.trailingSlash)),
        Case(.defaults, "/device/signin/", .verification(.other)),
        Case(.defaults, "/device/nope", .verification(.other)),
        Case(.defaults, "/device/style.css/x", .verification(.other)),
        Case(.defaults, "/devices", .notFound),
        Case(.defaults, "/deviceX/signin", .notFound),
        // Everything else.
        Case(.defaults, "/", .notFound),
        Case(.defaults, "/nope", .notFound),
        Case(.defaults, "", .notFound),
        // The page at the root.
        Case(.pageAtRoot, "/", .verification(.enter)),
        Case(.pageAtRoot, "/signin", .verification(.signIn)),
        Case(.pageAtRoot, "/decision", .verification(.decision)),
        Case(.pageAtRoot, "/signout", .verification(.signOut)),
        Case(.pageAtRoot, "/style.css", .verification(.stylesheet)),
        Case(.pageAtRoot, "/connected", .verification(.connected)),
        Case(.pageAtRoot, "//", .verification(.other)),
        Case(.pageAtRoot, "/nope", .verification(.other)),
        Case(.pageAtRoot, "/application/o/token/", .token),
        Case(.pageAtRoot, "/application/o/token", .verification(.other)),
        Case(.pageAtRoot, "/_devicegate/auth/openid", .authCheck),
        Case(.pageAtRoot, "/_devicegate/metrics", .metrics),
        Case(.pageAtRoot, "", .notFound),
        // Moved paths, no metrics.
        Case(.moved, "/link", .verification(.enter)),
        Case(.moved, "/link/", .verification(.trailingSlash)),
        Case(.moved, "/link/signin", .verification(.signIn)),
        Case(.moved, "/link/connected", .verification(.connected)),
        Case(.moved, "/device", .notFound),
        Case(.moved, "/_devicegate/metrics", .notFound),
        Case(.moved, "/gate/x", .authCheck),
    ]

    @Test(arguments: cases)
    func route(_ c: Case) {
        #expect(RoutingTable(c.layout.configuration).route(for: c.path) == c.route)
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
        let page = try CounterPage.claimSlot(in: directory.root, layout: MetricsLayout.id, count: MetricsLayout.count)
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
