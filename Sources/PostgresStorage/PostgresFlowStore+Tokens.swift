import DeviceFlow

/// Access tokens, refresh-token families and revocations. Each write is one statement (its
/// own transaction, or part of the caller's when an update closure makes it).
extension PostgresFlowStore {
    public func saveAccessToken(_ record: AccessTokenRecord) throws {
        try Self.mapped("save an access token") { try connection.execute(Statements.saveAccessToken, FlowRows.accessTokenParameters(record)) }
    }

    public func accessToken(hash: String) throws -> AccessTokenRecord? {
        try Self.mapped("look an access token up") {
            try connection.execute(Statements.accessToken, [.text(hash)]).first.map(FlowRows.accessToken)
        }
    }

    /// The family and its current token's index entry, in one statement.
    public func createRefreshFamily(_ family: RefreshFamily) throws {
        try Self.mapped("create a refresh family") { try connection.execute(Statements.createFamily, FlowRows.familyParameters(family)) }
    }

    public func refreshFamilyID(forTokenHash hash: String) throws -> String? {
        try Self.mapped("look a refresh token up") { try connection.execute(Statements.familyOfToken, [.text(hash)]).first?.string(0) }
    }

    /// One transaction: the family's row locked and read, the closure, then (when it returns a
    /// family) its new current token indexed before the family is written.
    public func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
        try Self.mapped("update a refresh family") {
            try connection.transaction(beginningWith: Statements.lockFamily, [.text(id)]) { tx, locked in
                let family = locked.isEmpty ? nil : try FlowRows.family(try tx.execute(Statements.readFamily, [.text(id)]))
                let (updated, result) = try body(family)
                if let updated, updated != family {
                    precondition(updated.id == id, "a family update may not change its id")
                    if updated.currentTokenHash != family?.currentTokenHash {
                        try tx.execute(Statements.indexRefreshToken, [.text(updated.currentTokenHash), .text(id), .int(updated.expiresAt.milliseconds)])
                    }
                    try tx.execute(Statements.writeFamily, FlowRows.familyParameters(updated))
                }
                return result
            }
        }
    }

    /// Kept until the later of the two expiries when a token is revoked twice.
    public func revokeAccessToken(id: String, expiresAt: UnixTime) throws {
        try Self.mapped("revoke an access token") { try connection.execute(Statements.revokeAccessToken, [.text(id), .int(expiresAt.milliseconds)]) }
    }

    public func isAccessTokenRevoked(id: String) throws -> Bool {
        try Self.mapped("check an access token's revocation") { !(try connection.execute(Statements.accessTokenRevoked, [.text(id)]).isEmpty) }
    }

    /// Keeps the later of two `at`s and the later of two `keepUntil`s: a second removal moves
    /// the marker forward, never back.
    public func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws {
        try Self.mapped("revoke a subject") {
            try connection.execute(Statements.revokeSubject, [.text(subject), .int(at.milliseconds), .int(keepUntil.milliseconds)])
        }
    }

    public func subjectRevokedAt(_ subject: String) throws -> UnixTime? {
        try Self.mapped("check a subject's revocation") {
            try connection.execute(Statements.subjectRevokedAt, [.text(subject)]).first.map { UnixTime(milliseconds: try $0.int64(0)) }
        }
    }
}
