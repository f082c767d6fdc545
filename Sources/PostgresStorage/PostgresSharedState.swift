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

    /// Rows one collection statement removes at most.
    static let collectionBatch: Int64 = 10_000
    /// Batches one call of a collector runs at most, so a backlog is worked off over several
    /// housekeeping ticks, each statement well within `statement_timeout`.
    static let collectionBatches = 10

    /// Runs `statement` (`$1`: the cutoff, `$2`: the batch size; answers the count removed)
    /// until a batch removes fewer than a full batch, at most `collectionBatches` times.
    /// Rows are picked `FOR UPDATE SKIP LOCKED`: collectors on several hosts share a backlog
    /// instead of waiting for each other, and a row in use is left for the next tick. Returns
    /// how many went; a failure ends the call with what was removed so far.
    static func collectInBatches(_ statement: PostgresStatement, before cutoff: PostgresValue, _ connection: PostgresConnection) -> Int {
        var removed = 0
        for _ in 0..<collectionBatches {
            guard let n = try? connection.execute(statement, [cutoff, .int(collectionBatch)]).first?.int64(0) else { break }
            removed += Int(n)
            if n < collectionBatch { break }
        }
        return removed
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
