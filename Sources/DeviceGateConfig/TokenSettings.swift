import Yams

/// Settings of signed tokens (`tokens:` in the configuration file).
public struct TokenSettings: Sendable, Equatable {
    public init() {}
}

extension Reader {
    mutating func readTokens(_ node: Node, into tokens: inout TokenSettings) {
        _ = mapping(node, "tokens", allowed: [])
    }
}
