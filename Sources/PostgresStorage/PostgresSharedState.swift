import DeviceFlow

/// What the stores of migration 3 (`SharedStateTables`) have in common: every PostgreSQL
/// failure reaches the storage contract as `FlowStorageError(.io, …)`, which the HTTP layer
/// answers with 503, never as a raw `PostgresError`.
enum PostgresSharedState {
    /// Runs `body`, turning a `PostgresError` into its `storageError`.
    @discardableResult
    static func reportingStorageErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresError {
            throw error.storageError
        }
    }

    /// SHA-256 of a counter's key, lowercase hex, as the state directory names its counter
    /// files: the key holds usernames and client addresses, which need not be in the database.
    /// Hex, so a set of them is a safe `text[]` literal.
    static func keyHash(_ key: String) -> String { Encoding.sha256Hex(key) }

    /// A `text[]` parameter of lowercase hex strings (no quoting needed).
    static func hexArray(_ hexes: [String]) -> PostgresValue {
        precondition(hexes.allSatisfy(isLowercaseHex))
        return .text("{" + hexes.joined(separator: ",") + "}")
    }

    static func isLowercaseHex(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
