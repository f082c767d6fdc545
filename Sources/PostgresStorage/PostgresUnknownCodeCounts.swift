import DeviceFlow

/// `UnknownCodeCounting` on PostgreSQL: unknown device codes (or refresh tokens, by `kind`)
/// per address and minute, counted in `unknown_code_counts` by every host, so that the audit
/// log gets one line per address a minute however many hosts answered.
///
/// - `add` is one statement (`INSERT … ON CONFLICT DO UPDATE`): under the row's lock every
///   unknown code is counted once, on any host. The client id is kept while every code of
///   that address and minute named the same client, and becomes NULL (`clientID` nil) once a
///   second one is counted. A minute has a row of its own, so nothing ever has to make room:
///   `add` hands back nothing.
/// - `takeDue` is one `DELETE … RETURNING`: each row of an ended minute is removed by exactly
///   one caller, on whichever host, and so handed back exactly once.
///
/// Addresses and client ids are cut to the state directory's sizes (46 and 64 bytes), so a
/// hostile client id costs no more room here than there.
public final class PostgresUnknownCodeCounts: UnknownCodeCounting, @unchecked Sendable {
    public let connection: PostgresConnection
    public let kind: UnknownCredential
    static let addressBytes = 46
    static let clientBytes = 64

    public init(connection: PostgresConnection, kind: UnknownCredential) {
        self.connection = connection
        self.kind = kind
    }

    /// One table per kind: what `Telemetry.shareUnknownCredentials` counts in.
    public static func tables(connection: PostgresConnection) -> [UnknownCredential: any UnknownCodeCounting] {
        Dictionary(uniqueKeysWithValues: UnknownCredential.allCases.map { ($0, PostgresUnknownCodeCounts(connection: connection, kind: $0) as any UnknownCodeCounting) })
    }

    static let addStatement = PostgresStatement("unknown_add", """
        INSERT INTO unknown_code_counts (kind, address, window_minute, client_id, count) VALUES ($1, $2, $3, $4, 1)
        ON CONFLICT (kind, address, window_minute) DO UPDATE SET count = unknown_code_counts.count + 1,
            client_id = CASE WHEN unknown_code_counts.client_id = EXCLUDED.client_id THEN EXCLUDED.client_id END
        """)
    static let takeStatement = PostgresStatement("unknown_take", """
        DELETE FROM unknown_code_counts WHERE kind = $1 AND window_minute < $2 RETURNING address, client_id, count, window_minute
        """)

    public func add(address: String, clientID: String, window: Int64) throws -> [UnknownCodeCount] {
        try PostgresSharedState.reportingStorageErrors {
            try connection.execute(Self.addStatement, [.text(kind.rawValue), .text(Self.cut(address, Self.addressBytes)), .int(window),
                                                       .text(Self.cut(clientID, Self.clientBytes))])
        }
        return []
    }

    /// Every count of a minute before `window`, removed; by minute, then address.
    public func takeDue(window: Int64) throws -> [UnknownCodeCount] {
        try PostgresSharedState.reportingStorageErrors {
            try connection.execute(Self.takeStatement, [.text(kind.rawValue), .int(window)]).map { row in
                UnknownCodeCount(address: try row.string(0), clientID: row[1], count: try row.int64(2), window: try row.int64(3))
            }
            .sorted { ($0.window, $0.address) < ($1.window, $1.address) }
        }
    }

    /// The first `bytes` bytes of `text`, as the state directory's table keeps it (an incomplete
    /// last character becomes U+FFFD), with NUL removed (PostgreSQL text cannot hold it).
    static func cut(_ text: String, _ bytes: Int) -> String {
        String(decoding: text.utf8.prefix(bytes).filter { $0 != 0 }, as: UTF8.self)
    }
}
