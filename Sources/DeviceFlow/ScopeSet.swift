/// An ordered set of scope tokens: RFC 6749 §3.3 `scope = scope-token *( SP scope-token )`,
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
public struct ScopeSet: Hashable, Sendable, Sequence, CustomStringConvertible {
    public private(set) var tokens: [String]

    public init(_ tokens: [String] = []) {
        var seen = Set<String>()
        self.tokens = tokens.filter { seen.insert($0).inserted }
    }

    /// Parses a space-delimited scope parameter. Runs of spaces are tolerated (authentik's docs
    /// show `scopes=openid email my-other-scope`); any other byte outside the RFC 6749 §3.3
    /// scope-token set makes the whole value invalid.
    public static func parse(_ value: String) -> ScopeSet? {
        var tokens: [String] = []
        for token in value.split(separator: " ", omittingEmptySubsequences: true) {
            guard token.utf8.allSatisfy(isScopeTokenByte) else { return nil }
            tokens.append(String(token))
        }
        return ScopeSet(tokens)
    }

    public static func isValidToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.allSatisfy(isScopeTokenByte)
    }

    private static func isScopeTokenByte(_ b: UInt8) -> Bool {
        b == 0x21 || (0x23...0x5B).contains(b) || (0x5D...0x7E).contains(b)
    }

    public var isEmpty: Bool { tokens.isEmpty }
    public func contains(_ token: String) -> Bool { tokens.contains(token) }
    public func isSubset(of other: ScopeSet) -> Bool { tokens.allSatisfy(other.contains) }
    public func subtracting(_ other: ScopeSet) -> [String] { tokens.filter { !other.contains($0) } }
    public func makeIterator() -> IndexingIterator<[String]> { tokens.makeIterator() }

    /// The RFC 6749 §3.3 wire form.
    public var description: String { tokens.joined(separator: " ") }
}
