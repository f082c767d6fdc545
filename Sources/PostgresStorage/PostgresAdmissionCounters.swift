import DeviceFlow

/// `FlowAdmissionCounters` on PostgreSQL: the caps on pending flows count across hosts.
///
/// One row per key in `admission_counters`, under SHA-256 of the key's name (it holds client
/// addresses), holding its `ExpiryBuckets` as the state directory's file does (16 × end
/// seconds, count; little-endian) and the latest end of a counted bucket, for garbage
/// collection. `admit` is one transaction: the rows of every key are locked by one
/// `SELECT … ORDER BY key_hash FOR UPDATE` (the same order on every host, so two admissions
/// never wait for each other in a cycle; missing rows are inserted, in the same order, and
/// all locked again), every key's `refusal` is checked, and only then is the flow counted
/// under each, one `UPDATE` by primary key per key. Checking and counting
/// under the same row locks is what keeps concurrent hosts from overshooting a cap.
///
/// The same decision as `FileAdmissionCounters`, the same soft state: counts are functions of
/// time (`ExpiryBuckets`), never decremented, so they never need repair.
public final class PostgresAdmissionCounters: FlowAdmissionCounters, @unchecked Sendable {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    static let lockRows = PostgresStatement("admission_lock", """
        SELECT key_hash, buckets FROM admission_counters WHERE key_hash = ANY($1::text[]) ORDER BY key_hash FOR UPDATE
        """)
    static let insertMissing = PostgresStatement("admission_insert", """
        INSERT INTO admission_counters (key_hash, buckets, live_until_seconds)
        SELECT k, ''::bytea, 0 FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key_hash) DO NOTHING
        """)
    /// One row by its primary key: cheaper here than one `UPDATE … FROM unnest(…)` for
    /// all keys (measured: about 50 µs a key against 150 µs), and never a table scan.
    static let write = PostgresStatement("admission_write", """
        UPDATE admission_counters SET buckets = $2, live_until_seconds = $3 WHERE key_hash = $1
        """)
    static let selectOne = PostgresStatement("admission_select", "SELECT buckets FROM admission_counters WHERE key_hash = $1")
    static let collect = PostgresStatement("admission_collect", """
        WITH gone AS (DELETE FROM admission_counters WHERE key_hash IN (
            SELECT key_hash FROM admission_counters WHERE live_until_seconds <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) FROM gone
        """)

    public func admit(_ keys: [AdmissionKey], expiresAt: UnixTime, lifetimeSeconds: Int, now: UnixTime) throws -> AdmissionRefusal? {
        guard !keys.isEmpty else { return nil }
        let width = ExpiryBuckets.width(lifetime: Int64(lifetimeSeconds))
        let hashes = keys.map { PostgresSharedState.keyHash($0.name) }
        let unique = Array(Set(hashes)).sorted()
        return try PostgresSharedState.reportingStorageErrors {
            try connection.transaction { tx in
                var buckets = try Self.lock(unique, tx)
                if buckets.count < unique.count {
                    // New keys: their rows are inserted (and so held) by this transaction. A row
                    // that garbage collection deleted while we waited for it is inserted again.
                    try tx.execute(Self.insertMissing, [PostgresSharedState.hexArray(unique)])
                    buckets = try Self.lock(unique, tx)
                    guard buckets.count == unique.count else { throw PostgresError(.protocolViolation, "admission rows vanished under their lock") }
                }
                for (key, hash) in zip(keys, hashes) {
                    if let refusal = key.refusal(buckets[hash] ?? ExpiryBuckets(), now: now) { return refusal }
                }
                for hash in hashes { buckets[hash, default: ExpiryBuckets()].add(expiresAt: expiresAt, width: width, now: now) }
                for hash in unique {
                    let b = buckets[hash]!
                    try tx.execute(Self.write, [.text(hash), .bytes(Self.encode(b)), .int(Self.liveUntil(b))])
                }
                return nil
            }
        }
    }

    /// The live count under a key (for tests and `devicegate status`).
    public func live(_ name: String, now: UnixTime) throws -> Int64 {
        try PostgresSharedState.reportingStorageErrors {
            guard let row = try connection.execute(Self.selectOne, [.text(PostgresSharedState.keyHash(name))]).first else { return 0 }
            return Self.decode(try row.bytes(0)).live(now: now)
        }
    }

    /// Removes the rows of keys whose buckets have all ended by `now` (nothing of them is
    /// live: the same as an absent row), in batches (`PostgresSharedState.collectInBatches`).
    /// A row an admission holds is skipped (`SKIP LOCKED`), and a row an admission updated
    /// after the collector's snapshot is checked again under its lock, so a count just added
    /// is never removed. Returns how many went; 0 when the database cannot be reached.
    ///
    /// Not part of `FlowAdmissionCounters`: the housekeeping tick calls it, as it calls the
    /// file store's `collectGarbage`.
    @discardableResult
    public func collectExpired(now: UnixTime) -> Int {
        PostgresSharedState.collectInBatches(Self.collect, before: .int(now.seconds), connection)
    }

    private static func lock(_ hashes: [String], _ tx: PostgresConnection.Transaction) throws -> [String: ExpiryBuckets] {
        var found: [String: ExpiryBuckets] = [:]
        for row in try tx.execute(lockRows, [PostgresSharedState.hexArray(hashes)]) {
            found[try row.string(0)] = decode(try row.bytes(1))
        }
        return found
    }

    /// The end of the last bucket that counts a flow: after it, nothing under the key is live.
    static func liveUntil(_ buckets: ExpiryBuckets) -> Int64 {
        buckets.slots.filter { $0.count > 0 }.map(\.end).max() ?? 0
    }

    static let encodedSize = ExpiryBuckets.slotCount * 16

    static func encode(_ buckets: ExpiryBuckets) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedSize)
        for slot in buckets.slots {
            for value in [slot.end, slot.count] {
                for b in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * b))) }
            }
        }
        return out
    }

    /// A new row (empty) or a value of another size reads as empty slots.
    static func decode(_ bytes: [UInt8]) -> ExpiryBuckets {
        guard bytes.count == encodedSize else { return ExpiryBuckets() }
        func word(_ i: Int) -> Int64 { (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[i * 8 + $1]) << (8 * $1) } }
        return ExpiryBuckets(slots: (0..<ExpiryBuckets.slotCount).map { .init(end: word(2 * $0), count: word(2 * $0 + 1)) })
    }
}
