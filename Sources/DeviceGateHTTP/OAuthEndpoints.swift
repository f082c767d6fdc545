import DeviceFlow
import DeviceGateConfig
import Logging
import Observability

/// The device flow's two endpoints: the device authorization (RFC 8628 §3.1) and the token
/// endpoint (RFC 8628 §3.4, refresh RFC 6749 §6).
public struct OAuthEndpoints {
    let context: EndpointContext
    var service: FlowService { context.service }
    var clock: any WallClock { context.clock }
    var telemetry: Telemetry { context.telemetry }

    public init(context: EndpointContext) {
        self.context = context
    }

    /// `POST endpoints.device_authorization`.
    func deviceAuthorization(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        context.formEndpoint(request, logger: logger, deviceAuthorization)
    }

    /// `POST endpoints.token`.
    func token(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        context.formEndpoint(request, logger: logger, token)
    }

    private func authenticate(_ request: HTTPRequest, _ form: FormFields) throws(OAuthError) -> ClientRegistration {
        try context.authenticate(request, form)
    }

    private func audit(_ kind: AuditEvent.Kind, _ request: HTTPRequest, user: String? = nil, clientID: String? = nil,
                       flowID: String? = nil, scope: String? = nil, details: [(String, String)] = []) {
        context.audit(kind, request, user: user, clientID: clientID, flowID: flowID, scope: scope, details: details)
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
                                                   networkKey: AddressKey.ipv6Network48(of: request.remoteAddress),
                                                   requester: DeviceRequester(address: request.remoteAddress, userAgent: request.userAgent),
                                                   now: clock.now())
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
    static let authorizationCodeGrant = "authorization_code"
    static let clientCredentialsGrant = "client_credentials"

    private func grantName(_ grantType: String) -> String { grantType == Self.deviceCodeGrant ? "device_code" : grantType }

    private func optionalScope(_ form: FormFields) throws -> ScopeSet? {
        guard let text = try form.single("scope") else { return nil }
        guard let parsed = ScopeSet.parse(text) else { throw OAuthError.invalidScope("scope contains invalid characters") }
        return parsed
    }

    /// RFC 8628 §3.4–3.5: `POST /application/o/token/`.
    private func token(_ request: HTTPRequest, _ form: FormFields, logger: Logger) throws -> HTTPResponse {
        guard let grantType = try form.single("grant_type") else { throw OAuthError.invalidRequest("missing grant_type") }
        let client = try authenticate(request, form)
        // RFC 6749 §5.2: a grant this client is not registered for is `unauthorized_client`,
        // before anything else of the request is read.
        if let grant = GrantType.allCases.first(where: { $0.tokenEndpointValue == grantType }), !client.allows(grant) {
            throw OAuthError.unauthorizedClient("this client may not use the \(grant.rawValue) grant")
        }
        let result: FlowService.PollResult
        switch grantType {
        case Self.deviceCodeGrant:
            guard let deviceCode = try form.single("device_code") else { throw OAuthError.invalidRequest("missing device_code") }
            result = try service.poll(deviceCode: deviceCode, client: client, now: clock.now())
        case Self.refreshTokenGrant:
            // RFC 6749 §6: refresh_token required, scope optional and never wider.
            guard let refreshToken = try form.single("refresh_token") else { throw OAuthError.invalidRequest("missing refresh_token") }
            result = try service.refresh(refreshToken: refreshToken, client: client, requestedScope: try optionalScope(form),
                                         from: request.remoteAddress, now: clock.now())
        case Self.authorizationCodeGrant:
            // RFC 6749 §4.1.3: code and redirect_uri (required, since every authorization
            // request here carries one); RFC 7636 §4.5 code_verifier.
            guard let code = try form.single("code") else { throw OAuthError.invalidRequest("missing code") }
            let redirectURI = try form.single("redirect_uri")
            if redirectURI == nil { throw OAuthError.invalidRequest("missing redirect_uri (it was in the authorization request)") }
            result = try service.redeemAuthorizationCode(code, client: client, redirectURI: redirectURI,
                                                         codeVerifier: try form.single("code_verifier"),
                                                         requester: DeviceRequester(address: request.remoteAddress, userAgent: request.userAgent),
                                                         now: clock.now())
        case Self.clientCredentialsGrant:
            // RFC 6749 §4.4.2: scope optional.
            result = try service.clientCredentials(client: client, requestedScope: try optionalScope(form), now: clock.now())
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
