import DeviceFlow

/// The response shapes of the OAuth endpoints.
public enum OAuthResponses {
    /// Every OAuth response: JSON, never cached (RFC 6749 §5.1 "Cache-Control: no-store",
    /// RFC 8628 §3.2 and §3.5 reuse it).
    static let jsonHeaders: [(String, String)] = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
    ]

    public static func json(_ status: Int, _ object: JSONObject, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonHeaders + extraHeaders, body: object.finished())
    }

    /// RFC 6749 §5.2 error response. `invalid_client` carries WWW-Authenticate (RFC 6749 §5.2,
    /// RFC 7617); 405 carries Allow (RFC 9110 §15.5.6); 503 and 429 carry Retry-After (RFC 9110
    /// §10.2.3, RFC 6585 §4), `retryAfter` seconds or 5.
    public static func error(_ error: OAuthError, allow: String? = nil, retryAfter: Int64? = nil) -> HTTPResponse {
        var object = JSONObject()
        object.add("error", error.code)
        object.add("error_description", error.detail)
        var extra: [(String, String)] = []
        if error.status == 401 { extra.append(("WWW-Authenticate", "Basic realm=\"devicegate\", charset=\"UTF-8\"")) }
        if let allow { extra.append(("Allow", allow)) }
        if error.status == 503 || error.status == 429 { extra.append(("Retry-After", "\(retryAfter ?? 5)")) }
        return json(error.status, object, extraHeaders: extra)
    }

    /// RFC 8628 §3.2.
    public static func deviceAuthorization(_ r: DeviceAuthorizationResponse) -> HTTPResponse {
        var o = JSONObject()
        o.add("device_code", r.deviceCode)
        o.add("user_code", r.userCode)
        o.add("verification_uri", r.verificationURI)
        o.add("verification_uri_complete", r.verificationURIComplete)
        o.add("expires_in", r.expiresIn)
        o.add("interval", r.interval)
        return json(200, o)
    }

    /// RFC 6749 §5.1 (and OIDC Core §3.1.3.3 for `id_token`).
    public static func tokens(_ t: IssuedTokens) -> HTTPResponse {
        var o = JSONObject()
        o.add("access_token", t.accessToken)
        o.add("token_type", t.tokenType)
        o.add("expires_in", t.expiresIn)
        o.add("scope", t.scope.description)
        if let id = t.idToken { o.add("id_token", id) }
        if let refresh = t.refreshToken { o.add("refresh_token", refresh) }
        return json(200, o)
    }
}
