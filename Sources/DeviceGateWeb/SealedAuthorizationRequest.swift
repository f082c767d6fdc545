import DeviceFlow
import DeviceGateHTTP

/// A validated authorization request carried from the authorization endpoint to the sign-in
/// and consent page (`{verification}/authorize?request=SEALED`) and through its forms, so the
/// server keeps no state for a request nobody has approved yet.
///
/// The wire form is `base64url(payload) "." hex(HMAC-SHA-256(web secret, label | payload))`,
/// where the payload is the request's fields form-encoded (RFC 6749 Appendix B) plus the
/// moment the endpoint first saw it (`requestedAt`, which `prompt=login` compares the sign-in
/// against, OIDC Core §3.1.2.1) and an expiry `lifetime` seconds later. Only the MAC makes it
/// trustworthy: a SEALED that fails the MAC, is expired or does not parse is refused with a
/// page, since its redirect URI cannot be trusted then (RFC 6749 §4.1.2.1).
struct SealedAuthorizationRequest: Equatable {
    /// How long a person has between the client's redirect and their decision.
    static let lifetime: Int64 = 600
    /// The MAC's domain-separation label under the web secret (as `csrfToken` uses its own).
    static let label = "devicegate-authorization-v1|"

    var request: AuthorizationRequest
    var requestedAt: UnixTime
    var expiresAt: UnixTime
    /// The request's `ui_locales` (OIDC Core §3.1.2.1), as well-formed language ranges joined
    /// by spaces, so the sign-in and consent pages keep speaking the language it asked for; the
    /// page's language switcher replaces it with the person's choice.
    var uiLocales: String?

    init(request: AuthorizationRequest, requestedAt: UnixTime, expiresAt: UnixTime? = nil, uiLocales: String? = nil) {
        self.request = request
        self.uiLocales = uiLocales
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt ?? requestedAt.adding(seconds: Self.lifetime)
    }

    /// Why a SEALED value was refused (for the log; the person sees one page for all).
    enum Refusal: Error, Equatable { case malformed, forged, expired }

    func seal(key: [UInt8]) -> String {
        let r = request
        var fields: [(String, String)] = [
            ("v", "1"), ("client_id", r.clientID), ("redirect_uri", r.redirectURI), ("scope", r.scope.description),
            ("requested_at", "\(requestedAt.milliseconds)"), ("expires_at", "\(expiresAt.milliseconds)"),
        ]
        if let state = r.state { fields.append(("state", state)) }
        if let nonce = r.nonce { fields.append(("nonce", nonce)) }
        if let challenge = r.codeChallenge { fields.append(("code_challenge", challenge)) }
        if !r.prompt.isEmpty { fields.append(("prompt", r.prompt.sorted().map(\.rawValue).joined(separator: " "))) }
        if let maxAge = r.maxAge { fields.append(("max_age", "\(maxAge)")) }
        if let hint = r.loginHint { fields.append(("login_hint", hint)) }
        if r.responseMode != .query { fields.append(("response_mode", r.responseMode.rawValue)) }
        if let uiLocales { fields.append(("ui_locales", uiLocales)) }
        let payload = fields.map { AuthorizationResponse.formEncode($0.0) + "=" + AuthorizationResponse.formEncode($0.1) }
            .joined(separator: "&")
        return Encoding.base64URL(Array(payload.utf8)) + "." + Self.mac(payload, key: key)
    }

    static func mac(_ payload: String, key: [UInt8]) -> String { Encoding.hmacSHA256Hex(key: key, label + payload) }

    /// The request inside `text`, if its MAC is right (compared in constant time) and it has
    /// not expired at `now`.
    static func open(_ text: String, key: [UInt8], now: UnixTime) -> Result<SealedAuthorizationRequest, Refusal> {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.utf8.count <= 65_536, parts.count == 2, let bytes = Base64URL.decode(parts[0]) else { return .failure(.malformed) }
        let payload = String(decoding: bytes, as: UTF8.self)
        guard constantTimeEquals(Array(parts[1].utf8), Array(mac(payload, key: key).utf8)) else { return .failure(.forged) }
        // Past the MAC the payload is our own; it is still parsed as if it were not.
        guard let fields = try? FormDecoding.decode(Array(payload.utf8)) else { return .failure(.malformed) }
        func field(_ name: String) -> String? { (try? fields.single(name)) ?? nil }
        guard field("v") == "1", let clientID = field("client_id"), let redirectURI = field("redirect_uri"),
              let requestedAt = field("requested_at").flatMap(Int64.init), let expiresAt = field("expires_at").flatMap(Int64.init),
              let scope = ScopeSet.parse(field("scope") ?? "") else { return .failure(.malformed) }
        var prompt: Set<AuthorizationRequest.Prompt> = []
        for word in (field("prompt") ?? "").split(separator: " ") {
            guard let p = AuthorizationRequest.Prompt(rawValue: String(word)) else { return .failure(.malformed) }
            prompt.insert(p)
        }
        var maxAge: Int?
        if let text = field("max_age") {
            guard let n = Int(text), n >= 0 else { return .failure(.malformed) }
            maxAge = n
        }
        guard let responseMode = AuthorizationRequest.ResponseMode(rawValue: field("response_mode") ?? "query") else { return .failure(.malformed) }
        let expiry = UnixTime(milliseconds: expiresAt)
        guard now < expiry else { return .failure(.expired) }
        let request = AuthorizationRequest(clientID: clientID, redirectURI: redirectURI, scope: scope, state: field("state"),
                                           nonce: field("nonce"), codeChallenge: field("code_challenge"), prompt: prompt,
                                           maxAge: maxAge, loginHint: field("login_hint"), responseMode: responseMode)
        let uiLocales = field("ui_locales").map { LanguagePreference.ranges(uiLocales: $0).joined(separator: " ") }
        return .success(SealedAuthorizationRequest(request: request, requestedAt: UnixTime(milliseconds: requestedAt), expiresAt: expiry,
                                                   uiLocales: uiLocales?.isEmpty == false ? uiLocales : nil))
    }
}

/// RFC 4648 §5 base64url without padding, decoding only (`Encoding.base64URL` encodes).
enum Base64URL {
    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default: return nil
            }
            buffer = (buffer << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        // A lone 6-bit remainder cannot come from any byte string.
        return bits >= 6 ? nil : out
    }
}

/// The one script devicegate ever serves: the form_post page's submit, allowed by CSP
/// Level 3 hash (`script-src 'sha256-…'`), nothing else.
enum FormPostResponse {
    static let script = "document.forms[0].submit();"
    /// `sha256-` and the standard base64 of SHA-256(script) (CSP Level 3 §2.3.1 hash-source).
    static let scriptHash: String = {
        var b64 = Encoding.base64URL(Encoding.sha256(script)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.utf8.count % 4 != 0 { b64 += "=" }
        return "sha256-" + b64
    }()
}
