import DeviceFlow
import DeviceGateHTTP

/// `AuthorizationRequestValidation.validate` and `AuthorizationResponse` (RFC 6749 §4.1.2.1,
/// RFC 8252 §7.3, RFC 9207): whatever the query, nothing is ever sent to a redirect URI the
/// client did not register, and what is appended to it reads back as what was meant.
///
/// Input: an authorization request's query string (form-encoded).
public enum AuthorizationRequestProperties {
    /// Two clients with every kind of redirect URI the configuration accepts.
    static let clients = ClientRegistry([
        ClientRegistration(clientID: "spa", displayName: "Spa", kind: .public, allowedScopes: ScopeSet(["openid", "profile", "offline_access"]),
                           defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode, .refreshToken],
                           redirectURIs: ["https://app.example/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb?x=1", "com.example.app:/oauth"]),
        ClientRegistration(clientID: "server", displayName: "Server", kind: .confidential(secretSHA256: Encoding.sha256("s")),
                           allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode],
                           redirectURIs: ["https://server.example/cb"]),
    ])

    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        guard let form = try? FormDecoding.decode(data) else { return }
        let result = AuthorizationRequestValidation.validate({ name throws(OAuthError) in try form.single(name) }, clients: clients)
        let sentClient = (try? form.single("client_id")) ?? nil
        let sentRedirect = (try? form.single("redirect_uri")) ?? nil
        switch result {
        case .pageError(let error):
            try require(!error.reason.isEmpty, "an empty page error")
        case .redirectError(let error, let uri, let state):
            try registered(uri, client: sentClient, sentRedirect: sentRedirect)
            try require(!error.code.isEmpty && error.code.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 0x61 && $0 <= 0x7A) },
                        "error code \(quoted(error.code.utf8))")
            try readsBack(AuthorizationResponse.location(uri, AuthorizationResponse.errorParameters(error, state: state, issuer: "https://i.example/x/")), base: uri,
                          expected: [("error", error.code), ("error_description", error.detail)] + (state.map { [("state", $0)] } ?? []) + [("iss", "https://i.example/x/")])
        case .valid(let request):
            try registered(request.redirectURI, client: request.clientID, sentRedirect: sentRedirect)
            try require(request.clientID == sentClient, "valid request for \(request.clientID), sent \(String(describing: sentClient))")
            let client = clients[request.clientID]!
            try require(request.scope.isSubset(of: client.allowedScopes), "scope \(request.scope) beyond the client's")
            try require(request.codeChallenge != nil || client.isConfidential, "a public client without PKCE")
            if let challenge = request.codeChallenge { try require(PKCE.isValidS256Challenge(challenge), "challenge \(quoted(challenge.utf8))") }
            try readsBack(AuthorizationResponse.location(request.redirectURI, AuthorizationResponse.successParameters(code: "c0de", state: request.state, issuer: "i")),
                          base: request.redirectURI, expected: [("code", "c0de")] + (request.state.map { [("state", $0)] } ?? []) + [("iss", "i")])
        }
    }

    /// The URI errors or codes go to is the one sent, and the client registered it.
    static func registered(_ uri: String, client: String?, sentRedirect: String?) throws(PropertyViolation) {
        try require(uri == sentRedirect, "redirected to \(quoted(uri.utf8)), sent \(String(describing: sentRedirect))")
        guard let client, let registration = clients[client] else { throw PropertyViolation("redirected for an unknown client") }
        try require(registration.matchesRedirectURI(uri), "\(quoted(uri.utf8)) is not registered for \(client)")
    }

    /// The Location starts with the redirect URI (before its fragment: there is none) and its
    /// query decodes back to the URI's own parameters followed by the expected ones.
    static func readsBack(_ location: String, base: String, expected: [(String, String)]) throws(PropertyViolation) {
        try require(location.hasPrefix(base), "\(quoted(location.utf8)) does not start with \(quoted(base.utf8))")
        try require(location.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "unencoded byte in \(quoted(location.utf8))")
        guard let q = location.firstIndex(of: "?") else { throw PropertyViolation("no query in \(quoted(location.utf8))") }
        guard let decoded = try? FormDecoding.decode(Array(location[location.index(after: q)...].utf8)) else {
            throw PropertyViolation("the query of \(quoted(location.utf8)) does not decode")
        }
        let tail = Array(decoded.pairs.suffix(expected.count))
        try require(tail.count == expected.count && zip(tail, expected).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 },
                    "\(quoted(location.utf8)) reads back as \(tail), expected \(expected)")
    }
}
