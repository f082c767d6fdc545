import DeviceFlow
import DeviceGateConfig
import Logging
import Operations

/// A feature that serves its own paths (the verification page, the token gateway). The app asks
/// each in turn after its own OAuth endpoints; nil means "not mine".
public protocol RequestHandler: AnyObject {
    func handle(_ request: HTTPRequest, logger: Logger) -> HTTPResponse?
}

/// The transport-neutral application: one request in, one response out.
///
/// Every failure becomes an RFC 6749 §5.2 JSON error; a storage failure becomes 503
/// `temporarily_unavailable`. Nothing a client sends can make it trap.
public final class DeviceGateApp {
    public let configuration: DeviceGateConfiguration
    public let service: FlowService
    let clock: any WallClock
    let logger: Logger
    /// Features with their own paths, asked in order after the OAuth endpoints.
    public var handlers: [any RequestHandler] = []
    /// Audit events and the counters behind the metrics.
    public var telemetry: Telemetry = .disabled()

    public init(configuration: DeviceGateConfiguration, service: FlowService, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.service = service
        self.clock = clock
        self.logger = logger
        self.discoveryPath = configuration.discoveryPath
        self.jwksPath = configuration.jwksPath
    }

    /// The issuer-relative paths, derived from the issuer URL once rather than per request.
    public let discoveryPath: String
    public let jwksPath: String

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = Telemetry.monotonicMicroseconds()
        var logger = self.logger
        if !request.requestID.isEmpty { logger[metadataKey: "request.id"] = "\(request.requestID)" }
        let endpoints = configuration.endpoints
        let response: HTTPResponse
        switch request.path {
        case _ where request.method.isEmpty || request.path.isEmpty:
            response = OAuthResponses.error(.invalidRequest("malformed request: the web server sent no REQUEST_METHOD or DOCUMENT_URI"))
        case endpoints.deviceAuthorization:
            response = oauthEndpoint(request, logger: logger, deviceAuthorization)
        case endpoints.token:
            response = oauthEndpoint(request, logger: logger, token)
        default:
            response = firstHandlerResponse(request, logger: logger)
                ?? OAuthResponses.error(.notFound("no such endpoint: \(request.path.prefix(200))"))
        }
        logger.debug("request", metadata: [
            "http.method": "\(request.method)", "http.path": "\(request.path.prefix(200))",
            "http.status": "\(response.status)", "client.address": "\(request.remoteAddress)",
        ])
        telemetry.flushUnknownCodes(now: clock.now())
        telemetry.observe(metricsEndpoint(request.path), status: response.status,
                          microseconds: Telemetry.monotonicMicroseconds() &- started)
        return response
    }

    /// The `endpoint` label a path is counted under.
    func metricsEndpoint(_ path: String) -> MetricsLayout.Endpoint {
        let endpoints = configuration.endpoints
        switch path {
        case endpoints.deviceAuthorization: return .deviceAuthorization
        case endpoints.token: return .token
        case endpoints.userinfo: return .userinfo
        case endpoints.introspection: return .introspection
        case endpoints.revocation: return .revocation
        case discoveryPath: return .discovery
        case jwksPath: return .jwks
        case configuration.operations.metricsPath: return .metrics
        case _ where path.hasPrefix(endpoints.authCheck): return .authCheck
        case _ where path == endpoints.verification || path.hasPrefix(endpoints.verification + (endpoints.verification.hasSuffix("/") ? "" : "/")):
            return .verification
        default: return .other
        }
    }

    /// Writes an audit event stamped with the request's address and id.
    public func audit(_ kind: AuditEvent.Kind, _ request: HTTPRequest, user: String? = nil, clientID: String? = nil,
                      flowID: String? = nil, scope: String? = nil, details: [(String, String)] = []) {
        telemetry.record(AuditEvent(kind, time: clock.now(), address: request.remoteAddress, user: user, clientID: clientID,
                                    flowID: flowID, scope: scope, requestID: request.requestID, details: details))
    }

    /// The first handler that takes the request. A plain loop on purpose: `lazy.compactMap(…).first`
    /// runs the winning handler twice (once to find the start index, once to subscript it),
    /// which would perform every approval and count every failed attempt twice.
    private func firstHandlerResponse(_ request: HTTPRequest, logger: Logger) -> HTTPResponse? {
        for handler in handlers {
            if let response = handler.handle(request, logger: logger) { return response }
        }
        return nil
    }

    /// The checks every OAuth POST endpoint shares: method, body size, content type, form.
    func oauthEndpoint(_ request: HTTPRequest, logger: Logger, _ body: (HTTPRequest, FormFields, Logger) throws -> HTTPResponse) -> HTTPResponse {
        guard request.method == "POST" else {
            return OAuthResponses.error(.methodNotAllowed("use POST"), allow: "POST")
        }
        guard !request.bodyExceededLimit else {
            return OAuthResponses.error(.payloadTooLarge("request body larger than \(configuration.server.maxBodyBytes) bytes"))
        }
        guard FormDecoding.isFormContentType(request.contentType) else {
            return OAuthResponses.error(.invalidRequest("Content-Type must be application/x-www-form-urlencoded"))
        }
        do {
            let form = try FormDecoding.decode(request.body)
            return try body(request, form, logger)
        } catch let error as OAuthError {
            return OAuthResponses.error(error)
        } catch let error as FlowStorageError {
            telemetry.countStorageFailure()
            logger.error("state directory failure", metadata: ["error": "\(error)"])
            let detail = error.kind == .noSpace ? "the server's state storage is full; try again later" : "the server's state storage failed; try again later"
            return OAuthResponses.error(.temporarilyUnavailable(detail))
        } catch {
            logger.error("unexpected failure", metadata: ["error": "\(error)"])
            return OAuthResponses.error(.temporarilyUnavailable("internal error; try again later"))
        }
    }

    /// Authenticates the calling client, RFC 6749 §2.3 / §3.2.1.
    func authenticate(_ request: HTTPRequest, _ form: FormFields) throws(OAuthError) -> ClientRegistration {
        let credentials = try ClientCredentialsExtraction.extract(authorization: request.authorization, form: form)
        switch service.clients.authenticate(credentials) {
        case .success(let client): return client
        case .failure(let error): throw error
        }
    }

    /// RFC 8628 §3.1–3.2: `POST /application/o/device/`.
    private func deviceAuthorization(_ request: HTTPRequest, _ form: FormFields, logger: Logger) throws -> HTTPResponse {
        let client = try authenticate(request, form)
        // authentik's docs spell the parameter `scopes`; RFC 8628 §3.1 spells it `scope`.
        let scopeText = try form.single("scope")
        let scopesText = try form.single("scopes")
        if scopeText != nil && scopesText != nil { throw OAuthError.invalidRequest("send either scope or scopes, not both") }
        var requested: ScopeSet?
        if let text = scopeText ?? scopesText {
            guard let parsed = ScopeSet.parse(text) else { throw OAuthError.invalidScope("scope contains invalid characters") }
            requested = parsed
        }
        let scope = try client.resolveScopes(requested: requested).get()
        let response: DeviceAuthorizationResponse
        do {
            response = try service.authorizeDevice(client: client, scope: scope, addressKey: AddressKey.of(request.remoteAddress),
                                                   networkKey: AddressKey.ipv6Network48(of: request.remoteAddress), now: clock.now())
        } catch let refusal as AdmissionRefusal {
            logger.debug("device authorization refused", metadata: ["client.id": "\(client.clientID)", "reason": "\(refusal.reason)"])
            return OAuthResponses.error(refusal.error, retryAfter: refusal.retryAfterSeconds)
        }
        logger.info("device authorization", metadata: ["client.id": "\(client.clientID)", "scope": "\(scope)"])
        audit(.flowStarted, request, clientID: client.clientID, flowID: Encoding.sha256Hex(response.deviceCode), scope: "\(scope)")
        return OAuthResponses.deviceAuthorization(response)
    }

    static let deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
    static let refreshTokenGrant = "refresh_token"

    private func grantName(_ grantType: String) -> String { grantType == Self.deviceCodeGrant ? "device_code" : grantType }

    /// RFC 8628 §3.4–3.5: `POST /application/o/token/`.
    private func token(_ request: HTTPRequest, _ form: FormFields, logger: Logger) throws -> HTTPResponse {
        guard let grantType = try form.single("grant_type") else { throw OAuthError.invalidRequest("missing grant_type") }
        let client = try authenticate(request, form)
        let result: FlowService.PollResult
        switch grantType {
        case Self.deviceCodeGrant:
            guard let deviceCode = try form.single("device_code") else { throw OAuthError.invalidRequest("missing device_code") }
            result = try service.poll(deviceCode: deviceCode, client: client, now: clock.now())
        case Self.refreshTokenGrant:
            // RFC 6749 §6: refresh_token required, scope optional and never wider.
            guard let refreshToken = try form.single("refresh_token") else { throw OAuthError.invalidRequest("missing refresh_token") }
            var scope: ScopeSet?
            if let text = try form.single("scope") {
                guard let parsed = ScopeSet.parse(text) else { throw OAuthError.invalidScope("scope contains invalid characters") }
                scope = parsed
            }
            result = try service.refresh(refreshToken: refreshToken, client: client, requestedScope: scope, now: clock.now())
        default:
            throw OAuthError.unsupportedGrantType("grant_type \(grantType.prefix(100)) is not supported")
        }
        switch result {
        case .tokens(let tokens):
            logger.info("tokens issued", metadata: ["client.id": "\(client.clientID)", "subject": "\(tokens.accessTokenRecord.subject)", "scope": "\(tokens.scope)"])
            audit(.tokenIssued, request, user: tokens.accessTokenRecord.subject, clientID: client.clientID,
                  flowID: tokens.accessTokenRecord.flowID, scope: "\(tokens.scope)", details: [("grant", grantName(grantType))])
            return OAuthResponses.tokens(tokens)
        case .error(let error):
            if let unknown = UnknownCredential.allCases.first(where: { $0.error == error }) {
                // Guessing or a stale device: one aggregate line per address a minute.
                telemetry.recordUnknownCode(unknown, address: AddressKey.of(request.remoteAddress), clientID: client.clientID, now: clock.now())
            } else if error.code == "invalid_grant" {
                // A code or refresh token that is unknown, another client's, spent or reused.
                audit(.grantRefused, request, clientID: client.clientID, details: [("grant", grantName(grantType)), ("reason", error.detail)])
            }
            return OAuthResponses.error(error)
        case .revocationFailed(let error, let subject, let grantID, let reason, let cause):
            telemetry.countStorageFailure()
            logger.error("credential reused, but its grant could not be revoked; a later replay tries again",
                         metadata: ["client.id": "\(client.clientID)", "reason": "\(reason)", "error": "\(cause)"])
            audit(.grantRefused, request, user: subject, clientID: client.clientID, flowID: grantID,
                  details: [("grant", grantName(grantType)), ("reason", error.detail), ("revocation", "failed")])
            return OAuthResponses.error(error)
        case .revoked(let error, let subject, let grantID, let reason):
            // A spent credential presented again: someone else holds it (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
            logger.warning("credential reused; grant revoked", metadata: ["client.id": "\(client.clientID)", "reason": "\(reason)"])
            audit(.grantRefused, request, user: subject, clientID: client.clientID, details: [("grant", grantName(grantType)), ("reason", error.detail)])
            audit(.tokenRevoked, request, user: subject, clientID: client.clientID, flowID: grantID, details: [("reason", reason)])
            return OAuthResponses.error(error)
        }
    }
}
