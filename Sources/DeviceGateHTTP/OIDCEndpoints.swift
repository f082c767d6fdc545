import DeviceFlow
import DeviceGateConfig
import Logging
import TokenSigning

/// Discovery, JWKS, userinfo, introspection, revocation and the nginx `auth_request` check:
/// everything a device and a resource server need to use the tokens.
public struct OIDCEndpoints {
    let context: EndpointContext
    /// The signing keys the JWKS publishes.
    public let keys: KeyRing
    /// What userinfo, introspection, revocation and the gateway check access tokens with.
    public let validator: AccessTokenValidator
    var configuration: DeviceGateConfiguration { context.configuration }

    public init(context: EndpointContext, keys: KeyRing, validator: AccessTokenValidator) {
        self.context = context
        self.keys = keys
        self.validator = validator
    }

    /// `GET <issuer path>.well-known/openid-configuration`.
    func discovery(_ request: HTTPRequest) -> HTTPResponse {
        request.method == "GET" || request.method == "HEAD" ? discovery() : OAuthResponses.error(.methodNotAllowed("use GET"), allow: "GET, HEAD")
    }

    /// `GET <issuer path>jwks/`.
    func jwks(_ request: HTTPRequest) -> HTTPResponse {
        request.method == "GET" || request.method == "HEAD" ? jwks() : OAuthResponses.error(.methodNotAllowed("use GET"), allow: "GET, HEAD")
    }

    /// `POST endpoints.introspection`.
    func introspection(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        context.formEndpoint(request, logger: logger, introspect)
    }

    /// `POST endpoints.revocation`.
    func revocation(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        context.formEndpoint(request, logger: logger, revoke)
    }

    /// `endpoints.auth_check` and the requirement after it.
    func authCheck(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        authCheck(request, requiredScopes: String(request.path.dropFirst(configuration.endpoints.authCheck.count)), logger: logger)
    }

    private var now: UnixTime { context.now }

    private static func publicJSON(_ object: JSONObject) -> HTTPResponse {
        // Public metadata may be cached briefly (keys rotate; a day-long cache would hide a new kid).
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "public, max-age=300")],
                     body: object.finished())
    }

    // MARK: Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2)

    func discovery() -> HTTPResponse {
        let c = configuration
        var o = JSONObject()
        o.add("issuer", c.issuer)
        // OIDC Discovery §3 REQUIRED; served to every client, even when only devices use it,
        // since libraries such as MSAL read it unconditionally.
        o.add("authorization_endpoint", c.absoluteURL(c.endpoints.authorization))
        o.add("device_authorization_endpoint", c.absoluteURL(c.endpoints.deviceAuthorization))
        o.add("token_endpoint", c.absoluteURL(c.endpoints.token))
        o.add("userinfo_endpoint", c.absoluteURL(c.endpoints.userinfo))
        o.add("jwks_uri", c.absoluteURL(c.jwksPath))
        o.add("introspection_endpoint", c.absoluteURL(c.endpoints.introspection))
        o.add("revocation_endpoint", c.absoluteURL(c.endpoints.revocation))
        o.add("end_session_endpoint", c.absoluteURL(c.endpoints.endSession))
        // What the registered clients may really use, in a stable order.
        let grants = Set(c.clients.flatMap(\.grantTypes))
        o.add("grant_types_supported", GrantType.allCases.filter(grants.contains).map(\.tokenEndpointValue))
        o.add("response_types_supported", ["code"])
        o.add("response_modes_supported", AuthorizationRequest.ResponseMode.allCases.map(\.rawValue))
        o.add("code_challenge_methods_supported", ["S256"])
        // RFC 9207 §3: every authorization response carries `iss`.
        o.add("authorization_response_iss_parameter_supported", true)
        o.add("prompt_values_supported", AuthorizationRequest.Prompt.allCases.sorted().map(\.rawValue))
        o.add("subject_types_supported", ["public"])
        let algorithms = Set(keys.publishedKeys(now: now).map(\.algorithm.rawValue))
        o.add("id_token_signing_alg_values_supported", algorithms.isEmpty ? [c.tokens.signingAlgorithm] : algorithms.sorted())
        o.add("request_parameter_supported", false)
        o.add("request_uri_parameter_supported", false)
        o.add("claims_parameter_supported", false)
        var methods: [String] = []
        if c.clients.contains(where: { !$0.isConfidential }) { methods.append("none") }
        if c.clients.contains(where: \.isConfidential) { methods += ["client_secret_basic", "client_secret_post"] }
        o.add("token_endpoint_auth_methods_supported", methods)
        o.add("revocation_endpoint_auth_methods_supported", methods)
        o.add("introspection_endpoint_auth_methods_supported", ["client_secret_basic", "client_secret_post"])
        var scopes: [String] = []
        for client in c.clients { for s in client.allowedScopes where !scopes.contains(s) { scopes.append(s) } }
        o.add("scopes_supported", scopes)
        var claims = ["sub", "iss", "aud", "exp", "iat", "auth_time", "azp", "nonce"]
        if scopes.contains("profile") { claims += ["name", "preferred_username"] }
        if scopes.contains("email") { claims += ["email", "email_verified"] }
        o.add("claims_supported", claims)
        return Self.publicJSON(o)
    }

    // MARK: JWKS (RFC 7517 §5)

    func jwks() -> HTTPResponse {
        let jwks = keys.publishedKeys(now: now).compactMap { key -> JSONObject? in
            guard let fields = try? key.jwkFields() else { return nil }
            var o = JSONObject()
            for (name, value) in fields { o.add(name, value) }
            return o
        }
        var o = JSONObject()
        o.add("keys", objects: jwks)
        return Self.publicJSON(o)
    }

    // MARK: Bearer tokens (RFC 6750)

    /// RFC 6750 §3: a challenge, with `error` only when a token was presented.
    static func bearerChallenge(status: Int, error: String?, detail: String?, scope: String? = nil) -> HTTPResponse {
        var challenge = "Bearer realm=\"devicegate\""
        if let error { challenge += ", error=\"\(error)\"" }
        if let detail { challenge += ", error_description=\"\(detail.filter { $0 != "\"" && $0 != "\\" })\"" }
        if let scope { challenge += ", scope=\"\(scope)\"" }
        var body = JSONObject()
        body.add("error", error ?? "invalid_request")
        body.add("error_description", detail ?? "a bearer access token is required")
        return HTTPResponse(status: status, headers: OAuthResponses.jsonHeaders + [("WWW-Authenticate", challenge)], body: body.finished())
    }

    static func bearerToken(_ authorization: String?) -> String? {
        guard let header = authorization, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingSpaces()
        return token.isEmpty ? nil : String(token)
    }

    struct Refusal: Error { var response: HTTPResponse }

    private func check(_ token: String?, audience: AccessTokenValidator.AudienceCheck = .configured) -> Result<ValidatedAccessToken, Refusal> {
        guard let token else { return .failure(Refusal(response: Self.bearerChallenge(status: 401, error: nil, detail: nil))) }
        switch validator.validate(token, now: now, audience: audience) {
        case .success(let v): return .success(v)
        case .failure(.expired): return .failure(Refusal(response: Self.bearerChallenge(status: 401, error: "invalid_token", detail: "the access token has expired")))
        case .failure(.revoked): return .failure(Refusal(response: Self.bearerChallenge(status: 401, error: "invalid_token", detail: "the access token has been revoked")))
        case .failure(.invalid): return .failure(Refusal(response: Self.bearerChallenge(status: 401, error: "invalid_token", detail: "the access token is not valid")))
        case .failure(.wrongAudience): return .failure(Refusal(response: Self.bearerChallenge(status: 401, error: "invalid_token", detail: "the access token is not for this resource (aud)")))
        case .failure(.unavailable):
            // Whether the token is revoked cannot be told: 503, never a 401 that makes a client
            // drop a good token, never a 200 for a token that may be revoked.
            return .failure(Refusal(response: OAuthResponses.error(.temporarilyUnavailable("the token store is unavailable; try again later"))))
        }
    }

    // MARK: userinfo (OIDC Core §5.3)

    func userinfo(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET" || request.method == "POST" else {
            return OAuthResponses.error(.methodNotAllowed("use GET or POST"), allow: "GET, POST")
        }
        var token = Self.bearerToken(request.authorization)
        if request.method == "POST", FormDecoding.isFormContentType(request.contentType) {
            // RFC 6750 §2.2: the form-encoded body parameter; never both at once (§2).
            let bodyToken: String?
            do {
                bodyToken = try FormDecoding.decode(request.body).single("access_token")
            } catch {
                return Self.bearerChallenge(status: 400, error: "invalid_request", detail: "malformed form body")
            }
            if let bodyToken {
                if token != nil { return Self.bearerChallenge(status: 400, error: "invalid_request", detail: "send the token once") }
                token = bodyToken
            }
        }
        let validated: ValidatedAccessToken
        // Userinfo is this issuer's own endpoint (OIDC Core §5.3): a client with its own
        // `audience` still holds this issuer's tokens, so any audience it issues for is taken;
        // what may be read here is decided by the `openid` scope below.
        let issuedFor = [validator.audience] + configuration.clients.compactMap(\.audience)
        switch check(token, audience: .oneOf(issuedFor)) {
        case .success(let v): validated = v
        case .failure(let refusal): return refusal.response
        }
        guard validated.scope.contains("openid") else {
            return Self.bearerChallenge(status: 403, error: "insufficient_scope", detail: "userinfo needs the openid scope", scope: "openid")
        }
        var o = JSONObject()
        o.add("sub", validated.subject)
        SignedTokenIssuer.addProfileClaims(to: &o, subject: validated.subject, scope: validated.scope, users: configuration.users)
        return OAuthResponses.json(200, o)
    }

    // MARK: Introspection (RFC 7662)

    func introspect(_ request: HTTPRequest, _ form: FormFields, logger: Logger) throws -> HTTPResponse {
        // RFC 7662 §2.1 requires client authentication; none at all is invalid_client (RFC 6749 §5.2).
        guard !(request.authorization ?? "").isEmpty || form.has("client_id") else {
            throw OAuthError.invalidClient("introspection requires client authentication (client_secret_basic or client_secret_post)")
        }
        let client = try context.authenticate(request, form)
        guard client.isConfidential else {
            throw OAuthError.invalidClient("introspection is for confidential clients (resource servers)")
        }
        // RFC 7662 §4: only resource servers (`introspection: true`) learn about any token.
        // Another confidential client learns about its own tokens only, which it holds anyway;
        // any other token is `active: false`, exactly as an unknown one, so that a client
        // cannot use the endpoint to test tokens it found (token scanning, RFC 7662 §4).
        func visible(_ tokenClientID: String) -> Bool { client.mayIntrospectAnyToken || tokenClientID == client.clientID }
        guard let token = try form.single("token") else { throw OAuthError.invalidRequest("missing token") }
        let hint = try form.single("token_type_hint")
        var o = JSONObject()
        let now = self.now
        func asAccess() -> Bool {
            guard case .success(let v) = validator.validate(token, now: now, audience: .any), visible(v.clientID) else { return false }
            o.add("active", true)
            o.add("scope", v.scope.description)
            o.add("client_id", v.clientID)
            o.add("sub", v.subject)
            o.add("exp", Int(v.expiresAt.seconds))
            o.add("iat", Int(v.issuedAt.seconds))
            o.add("iss", configuration.issuer)
            o.add("token_type", "Bearer")
            o.add("jti", v.tokenID)
            if let aud = v.audience { if aud.count == 1 { o.add("aud", aud[0]) } else { o.add("aud", aud) } }
            return true
        }
        func asRefresh() throws -> Bool {
            guard let family = try context.service.activeRefreshFamily(token, now: now), visible(family.clientID) else { return false }
            o.add("active", true)
            o.add("scope", family.scope.description)
            o.add("client_id", family.clientID)
            o.add("sub", family.subject)
            o.add("exp", Int(family.expiresAt.seconds))
            o.add("iss", configuration.issuer)
            o.add("token_type", "refresh_token")
            return true
        }
        // RFC 7662 §2.1: the hint orders the lookups; it never limits them.
        let found: Bool
        if hint == "refresh_token" { found = try asRefresh() || asAccess() } else { found = try asAccess() || asRefresh() }
        if !found { o.add("active", false) }
        logger.info("introspection", metadata: ["client.id": "\(client.clientID)", "active": "\(found)", "resource_server": "\(client.mayIntrospectAnyToken)"])
        return OAuthResponses.json(200, o)
    }

    // MARK: Revocation (RFC 7009)

    func revoke(_ request: HTTPRequest, _ form: FormFields, logger: Logger) throws -> HTTPResponse {
        let client = try context.authenticate(request, form)
        guard let token = try form.single("token") else { throw OAuthError.invalidRequest("missing token") }
        let now = self.now
        // RFC 7009 §2.1: refresh tokens revoke their whole grant; access tokens just themselves.
        switch try context.service.revokeRefreshToken(token, client: client, now: now) {
        case .revoked:
            logger.info("refresh token revoked", metadata: ["client.id": "\(client.clientID)"])
            context.audit(.tokenRevoked, request, clientID: client.clientID, details: [("token_type", "refresh_token")])
        case .otherClient:
            throw OAuthError(code: "unauthorized_client", detail: "the token was not issued to this client")
        case .unknown:
            guard case .success(let access) = validator.validate(token, now: now, audience: .any) else { break }
            guard access.clientID == client.clientID else {
                throw OAuthError(code: "unauthorized_client", detail: "the token was not issued to this client")
            }
            try context.service.store.revokeAccessToken(id: access.tokenID, expiresAt: access.expiresAt)
            logger.info("access token revoked", metadata: ["client.id": "\(client.clientID)"])
            context.audit(.tokenRevoked, request, user: access.subject, clientID: client.clientID, details: [("token_type", "access_token")])
        }
        // RFC 7009 §2.2: 200 also for tokens that are unknown, expired or already revoked.
        return HTTPResponse(status: 200, headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    }

    // MARK: nginx auth_request gateway

    /// Answers nginx's `auth_request` subrequest: 200 with the subject, client and scope in
    /// headers that `auth_request_set` copies upstream; 401 or 403 with a Bearer challenge.
    ///
    /// The path after the prefix names the required scopes and, optionally, the audience
    /// (`GatewayRequirement`): scopes separated by a space (`%20`), the one separator RFC 6749
    /// §3.3 keeps out of scope tokens; an audience in double quotes, which the token's `aud`
    /// must contain, else `tokens.audience` (RFC 9068 §4).
    /// A path that cannot be read unambiguously is the operator's mistake: 500, which nginx
    /// turns into a refusal, and an error in the log that names the fix.
    func authCheck(_ request: HTTPRequest, requiredScopes path: String, logger: Logger) -> HTTPResponse {
        let requirement: GatewayRequirement
        switch GatewayRequirement.parse(path) {
        case .success(let parsed): requirement = parsed
        case .failure(let problem):
            logger.error("gateway misconfigured: refusing every request to this location",
                         metadata: ["auth_request": "\(configuration.endpoints.authCheck)\(path.prefix(200))", "problem": "\(problem.description)"])
            var body = JSONObject()
            body.add("error", "server_error")
            body.add("error_description", "the gateway location is misconfigured; see the devicegate log")
            return OAuthResponses.json(500, body)
        }
        let required = requirement.scopes
        let audience: AccessTokenValidator.AudienceCheck = requirement.audience.map { .named($0) } ?? .configured
        let validated: ValidatedAccessToken
        switch check(Self.bearerToken(request.authorization), audience: audience) {
        case .success(let v): validated = v
        case .failure(let refusal): return refusal.response
        }
        let missing = required.filter { !validated.scope.contains($0) }
        guard missing.isEmpty else {
            return Self.bearerChallenge(status: 403, error: "insufficient_scope", detail: "this resource needs scope \(required.joined(separator: " "))",
                                        scope: required.joined(separator: " "))
        }
        return HTTPResponse(status: 200, headers: [
            ("X-Devicegate-Subject", validated.subject),
            ("X-Devicegate-Client", validated.clientID),
            ("X-Devicegate-Scope", validated.scope.description),
            ("Cache-Control", "no-store"),
        ])
    }
}
