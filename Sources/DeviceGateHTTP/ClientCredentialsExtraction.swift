import DeviceFlow

/// Reads client credentials from a request: RFC 6749 §2.3.1. Package-visible for the fuzz
/// harness (Tests/Fuzz).
package enum ClientCredentialsExtraction {
    /// Extracts the credentials and refuses ambiguity: two methods at once, or a body
    /// `client_id` that differs from the Basic one, is `invalid_request` (RFC 6749 §2.3:
    /// "The client MUST NOT use more than one authentication method in each request").
    package static func extract(authorization: String?, form: FormFields) throws(OAuthError) -> ClientCredentials {
        let bodyID = try form.single("client_id")
        let bodySecret = try form.single("client_secret")
        if let header = authorization, header.count >= 6, header.prefix(6).lowercased() == "basic " {
            guard let (id, secret) = decodeBasic(String(header.dropFirst(6))) else {
                throw .invalidClient("malformed HTTP Basic credentials")
            }
            if bodySecret != nil { throw .invalidRequest("use one client authentication method, not both client_secret_basic and client_secret_post") }
            if let bodyID, bodyID != id { throw .invalidRequest("client_id in the body does not match the Authorization header") }
            return ClientCredentials(clientID: id, secret: secret, method: .clientSecretBasic)
        }
        guard let id = bodyID else { throw .invalidRequest("missing client_id") }
        if let secret = bodySecret { return ClientCredentials(clientID: id, secret: secret, method: .clientSecretPost) }
        return ClientCredentials(clientID: id, secret: nil, method: .none)
    }

    /// `base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
    package static func decodeBasic(_ encoded: String) -> (String, String)? {
        guard let raw = base64Decode(encoded.trimmingCharacters()),
              let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        guard let id = try? FormDecoding.component(raw[..<colon]),
              let secret = try? FormDecoding.component(raw[(colon + 1)...]), !id.isEmpty else { return nil }
        return (id, secret)
    }

    package static func base64Decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="): padding += 1; continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            values.append(v)
        }
        guard values.count % 4 != 1, padding <= 2 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 4 <= values.count {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6 | UInt32(values[i + 3])
            out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            i += 4
        }
        let rest = values.count - i
        if rest == 2 {
            out.append(UInt8((UInt32(values[i]) << 2 | UInt32(values[i + 1]) >> 4) & 0xFF))
        } else if rest == 3 {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6
            out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF)]
        }
        return out
    }
}

extension String {
    func trimmingCharacters() -> String { String(Substring(self).trimmingSpaces()) }
}
