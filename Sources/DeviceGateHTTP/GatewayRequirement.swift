import DeviceFlow

/// What a gateway location requires of an access token, as its `auth_request` path says:
///
///     auth_request /_devicegate/auth/orders.read%20orders.write;
///     auth_request '/_devicegate/auth/"https://orders.example.com" orders.read';
///
/// Items are separated by a space (written `%20`, or literally inside a quoted nginx string).
/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, so a space is the one
/// printable separator no scope can hold; `+` and `,` can (`orders+write`, `a,b`).
/// - an item in double quotes (`"` or `%22`; `"` is never part of a scope) is the audience the
///   token's `aud` must contain (RFC 9068 §4); without one, `tokens.audience`;
/// - every other item is a required scope, `%XX`-decoded, so a `+` or `,` that belongs to a
///   scope is written `%2B` or `%2C`. A bare `+` or `,` was a separator in earlier versions, so
///   it is refused rather than guessed at: `a+b` could mean one scope or two.
public struct GatewayRequirement: Sendable, Equatable {
    public var audience: String?
    public var scopes: [String]

    public init(audience: String? = nil, scopes: [String]) {
        self.audience = audience
        self.scopes = scopes
    }

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ path: String) -> Result<GatewayRequirement, Problem> {
        // Only the space and the quote are structure; they may arrive raw or escaped.
        let text = path.replacingAll("%20", with: " ").replacingAll("%22", with: "\"")
        var requirement = GatewayRequirement(scopes: [])
        for item in text.split(separator: " ") {
            if item.hasPrefix("\"") {
                guard item.count >= 3, item.hasSuffix("\""), requirement.audience == nil,
                      let audience = percentDecode(String(item.dropFirst().dropLast())), !audience.contains("\""),
                      audience.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
                    return .failure(Problem(description: "the audience must be one non-empty quoted item without spaces or quotes, e.g. '/_devicegate/auth/\"https://api.example.com\" orders.read'"))
                }
                requirement.audience = audience
                continue
            }
            if item.contains("+") || item.contains(",") {
                return .failure(Problem(description: "a bare '+' or ',' in the auth_request path is ambiguous: both are legal inside a scope (RFC 6749 §3.3); "
                    + "separate scopes with %20 (auth_request /_devicegate/auth/orders.read%20orders.write;) and write a '+' or ',' that is part of a scope as %2B or %2C"))
            }
            guard let scope = percentDecode(String(item)), ScopeSet.isValidToken(scope) else {
                return .failure(Problem(description: "'\(item.prefix(100))' is not a scope token (RFC 6749 §3.3: printable ASCII except space, '\"' and '\\'), or has a malformed %-escape"))
            }
            requirement.scopes.append(scope)
        }
        return .success(requirement)
    }

    static func percentDecode(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let b = bytes.next() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard let h = bytes.next(), let l = bytes.next(), let v = Encoding.bytes(fromHex: String(decoding: [h, l], as: UTF8.self)) else { return nil }
            out += v
        }
        return String(validating: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
