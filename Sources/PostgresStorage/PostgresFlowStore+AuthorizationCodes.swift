import DeviceFlow

/// Authorization codes (RFC 6749 §4.1.2) in `authorization_codes` (migration 4): one row per
/// code, locked with `SELECT … FOR UPDATE` for a redemption, so two token requests on any two
/// hosts redeem a code once.
///
/// Not carried by `devicegate storage copy`: a code lives `AuthorizationCodes.lifetime`
/// (60 s), so one issued on the old install is redeemed there or not at all.
extension PostgresFlowStore {
    /// One INSERT, committed before return. A second record with the same id is refused (a
    /// unique violation, `.io`): ids are SHA-256 of 256 random bits.
    public func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws {
        try Self.mapped("create an authorization code") {
            try connection.execute(CodeStatements.create, AuthorizationCodeRows.parameters(record))
        }
    }

    /// BEGIN with the row locked and read (one round trip), the closure, at most one UPDATE
    /// (none when it returns nothing new), COMMIT. An unknown id runs the closure with nil and
    /// writes nothing: the UPDATE names a row that does not exist.
    public func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        try Self.mapped("update an authorization code") {
            try connection.transaction(beginningWith: CodeStatements.lock, [.text(id)]) { tx, rows in
                guard let row = rows.first else { return try body(nil).result }
                let record = try AuthorizationCodeRows.record(row)
                let (updated, result) = try body(record)
                if let updated, updated != record {
                    precondition(updated.id == id, "an update may not change the code's id")
                    try tx.execute(CodeStatements.write, AuthorizationCodeRows.parameters(updated))
                }
                return result
            }
        }
    }
}

/// The SQL of the codes, prepared once per connection (names begin `flow_`, as the flow
/// store's other statements).
enum CodeStatements {
    static let values = """
        $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::text, $10::text, \
        $11::text, $12::bigint, $13::text, $14::bigint, $15::text
        """

    static let create = PostgresStatement("flow_code_create", """
        INSERT INTO authorization_codes (\(AuthorizationCodeRows.columns)) VALUES (\(values))
        """)

    static let lock = PostgresStatement("flow_code_lock", """
        SELECT \(AuthorizationCodeRows.columns) FROM authorization_codes WHERE id = $1::text FOR UPDATE
        """)

    static let write = PostgresStatement("flow_code_write", """
        UPDATE authorization_codes SET (\(AuthorizationCodeRows.columns)) = (\(values)) WHERE id = $1::text
        """)
}

extension PostgresFlowStore.Statements {
    /// Codes past their `collect_ms` (`AuthorizationCodeRecord.collectableAt`).
    static let collectAuthorizationCodes = collect("authorization_codes", table: "authorization_codes", key: "id", column: "collect_ms")
}

/// `AuthorizationCodeRecord` as the columns of `authorization_codes`, both ways. A row that
/// does not decode is `.corrupt`, never a crash.
enum AuthorizationCodeRows {
    static let columns = """
        id, client_id, subject, scope, auth_time_ms, created_ms, expires_ms, collect_ms, redirect_uri, code_challenge, nonce, \
        redeemed_ms, issued_access_id, issued_access_expires_ms, issued_family_id
        """

    /// $1…$15 in `columns` order.
    static func parameters(_ c: AuthorizationCodeRecord) -> [PostgresValue] {
        [.text(c.id), .text(c.clientID), .text(c.subject), .text(c.scope.description), .int(c.authTime.milliseconds),
         .int(c.createdAt.milliseconds), .int(c.expiresAt.milliseconds), .int(c.collectableAt.milliseconds), .text(c.redirectURI),
         c.codeChallenge.map { .text($0) } ?? .null, c.nonce.map { .text($0) } ?? .null, FlowRows.time(c.redeemedAt),
         c.issued.map { .text($0.accessToken.id) } ?? .null, FlowRows.time(c.issued?.accessToken.expiresAt),
         c.issued?.refreshFamilyID.map { .text($0) } ?? .null]
    }

    static func record(_ row: PostgresRow) throws -> AuthorizationCodeRecord {
        let id = try row.string(0)
        var issued: DeviceFlowRecord.IssuedGrant?
        if let access = row[12] {
            issued = .init(accessToken: .init(id: access, expiresAt: UnixTime(milliseconds: try row.int64(13))), refreshFamilyID: row[14])
        }
        return AuthorizationCodeRecord(
            id: id, clientID: try row.string(1), subject: try row.string(2), scope: try FlowRows.scope(row, 3, of: "authorization code \(id)"),
            authTime: UnixTime(milliseconds: try row.int64(4)), createdAt: UnixTime(milliseconds: try row.int64(5)),
            expiresAt: UnixTime(milliseconds: try row.int64(6)), redirectURI: try row.string(8), codeChallenge: row[9], nonce: row[10],
            redeemedAt: try row.optionalInt64(11).map(UnixTime.init(milliseconds:)), issued: issued)
    }
}
