import Yams

/// Settings of the verification page (`web:` in the configuration file).
public struct WebSettings: Sendable, Equatable {
    public init() {}
}

extension Reader {
    mutating func readWeb(_ node: Node, into web: inout WebSettings) {
        _ = mapping(node, "web", allowed: [])
    }
}
