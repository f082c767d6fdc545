import Yams

/// Settings of signed tokens (`tokens:` in the configuration file).
public struct TokenSettings: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        /// RFC 9068 JWT access tokens, verifiable offline against the JWKS (the default).
        case jwt
        /// Opaque 256-bit access tokens, checked against the state directory.
        case opaque
    }

    public var format: Format = .jwt
    /// JWS algorithm for new keys: RS256 (every OIDC client supports it) or ES256.
    public var signingAlgorithm = "RS256"
    /// Where signing keys live; `<state_dir>/keys` when not set.
    public var keysDirectory: String?
    /// RFC 9068 `aud` of access tokens; the issuer when not set.
    public var audience: String?
    public var idTokenLifetime = 3600
    /// Lifetime of a refresh-token family, from the approval (rotation does not extend it).
    public var refreshTokenLifetime = 30 * 86_400

    public init() {}
}

extension Reader {
    /// An RFC 9068 `aud` value: 1-255 printable ASCII bytes without spaces or '"', so that a
    /// gateway location can name it (`auth_request '/_devicegate/auth/"<audience>" ...'`).
    mutating func audienceValue(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard (1...255).contains(text.utf8.count), text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) else {
            issue(node, path, "expected 1-255 printable ASCII characters without spaces or '\"' (e.g. https://api.example.com)")
            return nil
        }
        return text
    }

    mutating func readTokens(_ node: Node, into tokens: inout TokenSettings) {
        for (key, value) in mapping(node, "tokens", allowed: ["format", "signing_alg", "keys_dir", "audience", "id_token_lifetime", "refresh_token_lifetime"]) {
            let path = "tokens.\(key)"
            switch key {
            case "format":
                guard let text = string(value, path) else { continue }
                guard let format = TokenSettings.Format(rawValue: text) else { issue(value, path, "expected jwt or opaque"); continue }
                tokens.format = format
            case "signing_alg":
                guard let text = string(value, path) else { continue }
                guard ["RS256", "ES256"].contains(text) else { issue(value, path, "expected RS256 or ES256"); continue }
                tokens.signingAlgorithm = text
            case "keys_dir":
                guard let text = string(value, path) else { continue }
                guard text.hasPrefix("/") else { issue(value, path, "must be an absolute path"); continue }
                tokens.keysDirectory = text
            case "audience": tokens.audience = audienceValue(value, path)
            case "id_token_lifetime": tokens.idTokenLifetime = int(value, path, range: 60...86_400) ?? tokens.idTokenLifetime
            case "refresh_token_lifetime": tokens.refreshTokenLifetime = int(value, path, range: 3600...(365 * 86_400)) ?? tokens.refreshTokenLifetime
            default: break
            }
        }
    }
}
