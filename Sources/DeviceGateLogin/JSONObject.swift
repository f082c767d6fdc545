#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One JSON value, as the endpoints answer and the token file keeps it. Decoded with
/// FoundationEssentials' JSONDecoder: the tool links no ICU (a static binary several times smaller).
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// A JSON object with typed look-ups.
public struct JSONObject: Equatable, Sendable {
    public let members: [String: JSONValue]

    /// Parses `data` as one JSON object; nil for anything else (array, scalar, bad JSON).
    public init?(data: Data) {
        guard let members = try? JSONDecoder().decode([String: JSONValue].self, from: data) else { return nil }
        self.members = members
    }

    public init(members: [String: JSONValue]) {
        self.members = members
    }

    public func string(_ key: String) -> String? {
        if case .string(let value)? = members[key] { return value }
        return nil
    }

    /// An integer member; a string, a boolean or a number with a fraction gives nil.
    public func integer(_ key: String) -> Int? {
        if case .integer(let value)? = members[key] { return value }
        return nil
    }

    /// Serialised with sorted keys and a final newline (what stdout and the token file get).
    public func serialized() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = (try? encoder.encode(members)) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
