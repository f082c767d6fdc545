import DeviceFlow

/// `ScopeSet.parse`: RFC 6749 §3.3 `scope = scope-token *( SP scope-token )` with runs of
/// spaces tolerated.
public enum ScopeProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        let text = String(decoding: data, as: UTF8.self)
        let parsed = ScopeSet.parse(text)
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII but `"` and `\`.
        let isTokenByte = { (b: UInt8) in b >= 0x21 && b <= 0x7E && b != 0x22 && b != 0x5C }
        let valid = text.utf8.allSatisfy { $0 == 0x20 || isTokenByte($0) }
        try require((parsed != nil) == valid, "parse(\(quoted(text))) = \(String(describing: parsed)), expected \(valid ? "a set" : "nil")")
        guard let scope = parsed else { return }

        var expected: [String] = []
        for token in text.split(separator: " ") where !expected.contains(String(token)) { expected.append(String(token)) }
        try require(scope.tokens == expected, "parse(\(quoted(text))) = \(scope.tokens), expected \(expected)")
        try require(scope.tokens.allSatisfy(ScopeSet.isValidToken), "parse(\(quoted(text))) holds an invalid token")
        try require(ScopeSet.parse(scope.description) == scope, "\(quoted(scope.description)) does not parse back to itself")
        try require(!scope.description.contains("  ") && scope.description.first != " " && scope.description.last != " ",
                    "description \(quoted(scope.description)) has stray spaces")
        try require(scope.isSubset(of: scope) && scope.subtracting(scope).isEmpty, "\(scope) is not a subset of itself")
        try require(scope.isEmpty == expected.isEmpty, "isEmpty is wrong for \(scope)")
    }
}
