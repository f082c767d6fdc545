import Foundation

/// A JSON object as the endpoints answer it, with typed look-ups.
public struct JSONObject: @unchecked Sendable {
    public let members: [String: Any]

    /// Parses `data` as one JSON object; nil for anything else (array, scalar, bad JSON).
    public init?(data: Data) {
        guard let value = try? JSONSerialization.jsonObject(with: data), let members = value as? [String: Any] else {
            return nil
        }
        self.members = members
    }

    public init(members: [String: Any]) {
        self.members = members
    }

    public func string(_ key: String) -> String? { members[key] as? String }

    /// An integer member; JSON numbers with a fraction or out of range give nil.
    public func integer(_ key: String) -> Int? {
        guard !(members[key] is Bool) else { return nil }
        return members[key] as? Int
    }

    /// Serialised with sorted keys and a final newline (what stdout and the token file get).
    public func serialized() -> Data {
        var data = (try? JSONSerialization.data(withJSONObject: members, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }
}
