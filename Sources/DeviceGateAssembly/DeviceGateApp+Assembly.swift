import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateWeb
import Logging
import Observability
import TokenSigning

extension DeviceGateApp {
    /// The whole application from its configuration: the OAuth endpoints, signed tokens, the
    /// OIDC and gateway endpoints, the metrics, the verification page, and the routing table
    /// that picks one of them for each request.
    ///
    /// The one place the application is wired: `devicegate worker`, the HTTP and web tests and
    /// the fuzzer all call it, so what they test is what the worker serves. Only the storage,
    /// the clock, the telemetry and the logger come from outside; the randomness is the
    /// system's. Throws `PageTemplates.LoadError` or `Localisation.LoadError` for `web.templates_dir`.
    public static func assemble(configuration config: DeviceGateConfiguration, storage: ApplicationStorage, clock: any WallClock,
                                telemetry: Telemetry, logger: Logger) throws -> DeviceGateApp {
        let keys = KeyRing(files: storage.keys, maximumTokenLifetime: max(config.lifetimes.accessToken, config.tokens.idTokenLifetime))
        let signed = SignedTokenIssuer(issuer: config.issuer, audience: config.tokens.audience ?? config.issuer,
                                       accessTokenLifetime: config.lifetimes.accessToken, idTokenLifetime: config.tokens.idTokenLifetime,
                                       keys: keys, users: config.users)
        let issuer: any TokenIssuer
        switch config.tokens.format {
        case .jwt: issuer = signed
        case .opaque: issuer = OpaqueWithIDTokenIssuer(opaque: OpaqueTokenIssuer(accessTokenLifetime: config.lifetimes.accessToken), signed: signed)
        }
        var service = FlowService(store: storage.flows, clients: config.clientRegistry, policy: config.flowPolicy, issuer: issuer,
                                  refreshTokenLifetime: config.tokens.refreshTokenLifetime)
        service.admission = config.admission.policy
        service.admissionCounters = storage.admissionCounters
        service.reserve = storage.filesystemReading.map { StorageReserveGauge(reserve: config.admission.reserve, read: $0) }

        let context = EndpointContext(configuration: config, service: service, clock: clock, telemetry: telemetry)
        let validator = AccessTokenValidator(issuer: config.issuer, audience: config.tokens.audience, keys: keys, store: storage.flows)
        let page = VerificationPage(configuration: config, service: service, store: storage.webState, clock: clock,
                                    templates: try PageTemplates(directory: config.web.templatesDirectory),
                                    localisation: try Localisation(directory: config.web.templatesDirectory, defaultLanguage: config.web.defaultLanguage),
                                    telemetry: telemetry,
                                    idTokenAudiences: { token in
                                        // RP-initiated logout's id_token_hint: one of our ID tokens, expired or not.
                                        guard let verified = try? JWT.verify(token, keys: { keys.verificationKey(kid: $0, now: clock.now()) }),
                                              verified.string("iss") == config.issuer, verified.type == "JWT" else { return nil }
                                        return verified.strings("aud")
                                    })
        return DeviceGateApp(
            configuration: config, routes: RoutingTable(config),
            oauth: OAuthEndpoints(context: context),
            oidc: OIDCEndpoints(context: context, keys: keys, validator: validator),
            metrics: config.operations.metricsEnabled ? MetricsEndpoint(settings: config.operations, stateRoot: storage.hostDirectory) : nil,
            verification: page, telemetry: telemetry, clock: clock, logger: logger)
    }
}
