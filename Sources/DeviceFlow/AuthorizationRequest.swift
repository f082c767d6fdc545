/// A validated authorization request: RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1.
public struct AuthorizationRequest: Sendable, Equatable {
    /// OIDC Core §3.1.2.1 `prompt`.
    public enum Prompt: String, Sendable, Hashable, CaseIterable, Comparable {
        /// No page at all: answer at once, or redirect `login_required` / `consent_required`.
        case none
        /// Sign in again even with a session.
        case login
        /// Show the consent page even to a client that skips it.
        case consent
        /// Treated as `login`: there is one account per browser here.
        case selectAccount = "select_account"

        public static func < (a: Prompt, b: Prompt) -> Bool { a.rawValue < b.rawValue }
    }

    /// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and OAuth 2.0 Form Post
    /// Response Mode §2: how the response reaches the redirect URI.
    public enum ResponseMode: String, Sendable, Hashable, CaseIterable {
        /// In the redirect URI's query (RFC 6749 §4.1.2), by a 303.
        case query
        /// As form fields POSTed to the redirect URI by the browser: the code stays out of
        /// URLs, histories and Referer headers (what MSAL recommends).
        case formPost = "form_post"
    }

    public var clientID: String
    /// The registered redirect URI the request named (the port of a loopback one as sent).
    public var redirectURI: String
    public var scope: ScopeSet
    /// RFC 6749 §4.1.1 `state`, returned unchanged.
    public var state: String?
    public var nonce: String?
    /// RFC 7636 S256 challenge; nil only for a confidential client that sent none.
    public var codeChallenge: String?
    public var prompt: Set<Prompt>
    /// OIDC Core §3.1.2.1 `max_age`, seconds: an older sign-in must be repeated.
    public var maxAge: Int?
    /// OIDC Core §3.1.2.1 `login_hint`: prefills the username.
    public var loginHint: String?
    public var responseMode: ResponseMode

    public init(clientID: String, redirectURI: String, scope: ScopeSet, state: String? = nil, nonce: String? = nil,
                codeChallenge: String? = nil, prompt: Set<Prompt> = [], maxAge: Int? = nil, loginHint: String? = nil,
                responseMode: ResponseMode = .query) {
        self.responseMode = responseMode
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.scope = scope
        self.state = state
        self.nonce = nonce
        self.codeChallenge = codeChallenge
        self.prompt = prompt
        self.maxAge = maxAge
        self.loginHint = loginHint
    }

    /// Whether a sign-in at `authTime` is recent enough for this request (OIDC Core §3.1.2.1),
    /// `requestedAt` being the moment the authorization endpoint first saw it. A sign-in made
    /// for this request (at or after `requestedAt`) always is, however long the person then
    /// takes to decide: else `max_age=0` would ask for the password forever. An earlier one is
    /// acceptable unless `prompt=login` (or `select_account`) asks for a new one, or it was
    /// more than `max_age` seconds old when the request came.
    public func acceptsSignIn(at authTime: UnixTime, requestedAt: UnixTime) -> Bool {
        if authTime >= requestedAt { return true }
        if let maxAge, requestedAt.milliseconds - authTime.milliseconds > Int64(maxAge) * 1000 { return false }
        if !prompt.isDisjoint(with: [.login, .selectAccount]) { return false }
        return true
    }

    /// Whether the request asks for a sign-in the web server's own authentication (delegated
    /// sign-in) cannot be made to repeat: `prompt=login`, `select_account` or `max_age`.
    public var asksForReauthentication: Bool { maxAge != nil || !prompt.isDisjoint(with: [.login, .selectAccount]) }

    /// The longest `state`, `nonce` or `login_hint` accepted: a request is a URL, and what it
    /// carries is echoed into pages, codes and redirects.
    public static let maximumParameterBytes = 2048
}

/// What an authorization request's parameters amount to.
public enum AuthorizationRequestValidation: Sendable, Equatable {
    case valid(AuthorizationRequest)
    /// RFC 6749 §4.1.2.1: the client and redirect URI are good, so the error goes back to the
    /// client at the redirect URI, with `state` (and `iss`, RFC 9207).
    case redirectError(OAuthError, redirectURI: String, state: String?)
    /// RFC 6749 §4.1.2.1: "If the request fails due to a missing, invalid, or mismatching
    /// redirection URI, or if the client identifier is missing or invalid, the authorization
    /// server SHOULD inform the resource owner of the error and MUST NOT automatically
    /// redirect the user-agent to the invalid redirection URI."
    case pageError(AuthorizationPageError)

    /// Validates the parameters of a request, looked up by name. `parameter` throws for a
    /// parameter sent more than once (RFC 6749 §3.1: "Request and response parameters MUST
    /// NOT be included more than once"). The client and the redirect URI are checked first,
    /// since until both are known good nothing may be redirected.
    public static func validate(_ parameter: (String) throws -> String?, clients: ClientRegistry) -> AuthorizationRequestValidation {
        func value(_ name: String) -> Result<String?, OAuthError> {
            do { return .success(try parameter(name)) } catch let error as OAuthError { return .failure(error) } catch {
                return .failure(.invalidRequest("\(name) could not be read"))
            }
        }
        // 1. The client and the redirect URI: a page, never a redirect.
        guard case .success(let clientIDValue) = value("client_id") else { return .pageError(.clientRepeated) }
        guard let clientID = clientIDValue, !clientID.isEmpty else { return .pageError(.clientMissing) }
        guard let client = clients[clientID] else { return .pageError(.clientUnknown) }
        guard case .success(let redirectValue) = value("redirect_uri") else { return .pageError(.redirectRepeated) }
        guard let redirectURI = redirectValue, !redirectURI.isEmpty else {
            return .pageError(.redirectMissing)
        }
        guard client.matchesRedirectURI(redirectURI) else {
            return .pageError(.redirectUnregistered(clientName: client.displayName))
        }
        // 2. Everything else goes back to the client. `state` first, so errors can carry it.
        let state: String?
        switch value("state") {
        case .success(let s): state = s
        case .failure: return .redirectError(.invalidRequest("state is sent more than once"), redirectURI: redirectURI, state: nil)
        }
        func fail(_ error: OAuthError) -> AuthorizationRequestValidation { .redirectError(error, redirectURI: redirectURI, state: state) }
        if let state, state.utf8.count > AuthorizationRequest.maximumParameterBytes {
            return .redirectError(.invalidRequest("state is longer than \(AuthorizationRequest.maximumParameterBytes) bytes"), redirectURI: redirectURI, state: nil)
        }
        var fields: [String: String] = [:]
        for name in ["response_type", "scope", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
                     "response_mode", "request", "request_uri", "registration"] {
            switch value(name) {
            case .success(let v): if let v { fields[name] = v }
            case .failure(let error): return fail(error)
            }
        }
        // OIDC Core §6 and §7.2.1: request objects and registration are not supported.
        if fields["request"] != nil { return fail(OAuthError(code: "request_not_supported", detail: "request objects are not supported")) }
        if fields["request_uri"] != nil { return fail(OAuthError(code: "request_uri_not_supported", detail: "request_uri is not supported")) }
        if fields["registration"] != nil { return fail(OAuthError(code: "registration_not_supported", detail: "registration is not supported")) }
        guard let responseType = fields["response_type"] else { return fail(.invalidRequest("missing response_type")) }
        guard responseType == "code" else {
            return fail(OAuthError(code: "unsupported_response_type", detail: "only response_type=code is supported"))
        }
        var responseMode = AuthorizationRequest.ResponseMode.query
        if let text = fields["response_mode"] {
            guard let mode = AuthorizationRequest.ResponseMode(rawValue: text) else {
                return fail(.invalidRequest("response_mode must be query or form_post"))
            }
            responseMode = mode
        }
        guard client.allows(.authorizationCode) else {
            return fail(.unauthorizedClient("this client may not use the authorization code flow"))
        }
        // Scope, RFC 6749 §3.3.
        var requested: ScopeSet?
        if let text = fields["scope"] {
            guard let parsed = ScopeSet.parse(text) else { return fail(.invalidScope("scope contains invalid characters")) }
            requested = parsed
        }
        let scope: ScopeSet
        switch client.resolveScopes(requested: requested) {
        case .success(let s): scope = s
        case .failure(let error): return fail(error)
        }
        // PKCE, RFC 7636 §4.3 and §4.4.1; RFC 9700 §2.1.1.
        let challenge = fields["code_challenge"]
        if let method = fields["code_challenge_method"] {
            guard method == "S256" else { return fail(.invalidRequest("code_challenge_method must be S256 (plain is not supported)")) }
            guard challenge != nil else { return fail(.invalidRequest("code_challenge_method without code_challenge")) }
        }
        if let challenge {
            guard fields["code_challenge_method"] == "S256" else {
                return fail(.invalidRequest("code_challenge_method=S256 is required (plain, the default, is not supported)"))
            }
            guard PKCE.isValidS256Challenge(challenge) else { return fail(.invalidRequest("code_challenge is not a valid S256 challenge")) }
        } else if !client.isConfidential {
            return fail(.invalidRequest("code_challenge is required for public clients (PKCE, RFC 7636, S256)"))
        }
        // OIDC Core §3.1.2.1.
        var prompt: Set<AuthorizationRequest.Prompt> = []
        if let text = fields["prompt"] {
            for word in text.split(separator: " ") {
                guard let p = AuthorizationRequest.Prompt(rawValue: String(word)) else {
                    return fail(.invalidRequest("unsupported prompt value: \(word.prefix(40))"))
                }
                prompt.insert(p)
            }
            if prompt.contains(.none) && prompt.count > 1 { return fail(.invalidRequest("prompt=none cannot be combined with other values")) }
        }
        var maxAge: Int?
        if let text = fields["max_age"] {
            guard text.utf8.count <= 9, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                return fail(.invalidRequest("max_age must be a non-negative number of seconds"))
            }
            maxAge = n
        }
        for name in ["nonce", "login_hint"] {
            if let v = fields[name], v.utf8.count > AuthorizationRequest.maximumParameterBytes {
                return fail(.invalidRequest("\(name) is longer than \(AuthorizationRequest.maximumParameterBytes) bytes"))
            }
        }
        return .valid(AuthorizationRequest(clientID: client.clientID, redirectURI: redirectURI, scope: scope, state: state,
                                           nonce: fields["nonce"], codeChallenge: challenge, prompt: prompt, maxAge: maxAge,
                                           loginHint: fields["login_hint"], responseMode: responseMode))
    }
}

/// The redirect back to the client: RFC 6749 §4.1.2 and §4.1.2.1, with `iss` (RFC 9207 §2).
public enum AuthorizationResponse {
    /// `redirectURI` with the parameters appended to its query, percent-encoded
    /// (`application/x-www-form-urlencoded`, RFC 6749 Appendix B), before any fragment.
    public static func location(_ redirectURI: String, _ parameters: [(String, String)]) -> String {
        var base = redirectURI
        var fragment = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = String(base[hash...])
            base = String(base[..<hash])
        }
        let query = parameters.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + query + fragment
    }

    /// The success parameters: `code`, `state` when the request had one, `iss`.
    public static func successParameters(code: String, state: String?, issuer: String) -> [(String, String)] {
        var p = [("code", code)]
        if let state { p.append(("state", state)) }
        p.append(("iss", issuer))
        return p
    }

    /// The error parameters, RFC 6749 §4.1.2.1.
    public static func errorParameters(_ error: OAuthError, state: String?, issuer: String) -> [(String, String)] {
        var p = [("error", error.code), ("error_description", error.detail)]
        if let state { p.append(("state", state)) }
        p.append(("iss", issuer))
        return p
    }


    /// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
    public static func formEncode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in text.utf8 {
            if PKCE.isUnreserved(b) {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "%")))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 0xF)]))
            }
        }
        return out
    }
}
