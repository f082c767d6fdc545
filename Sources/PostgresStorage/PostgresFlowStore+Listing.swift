import DeviceFlow

/// A person's grants ("Your devices") and the listings of the operator's commands.
extension PostgresFlowStore {
    /// One indexed query (`refresh_families_by_subject`, migration 5): that subject's rows only.
    public func refreshFamilies(subject: String) throws -> [RefreshFamily] {
        try Self.mapped("list a subject's refresh families") {
            try FlowRows.families(try connection.execute(Statements.familiesOfSubject, [.text(subject)]))
        }
    }

    public func everyRefreshFamily() throws -> [RefreshFamily] {
        try Self.mapped("list refresh families") { try FlowRows.families(try connection.execute(Statements.everyFamily)) }
    }

    public func everyFlow() throws -> [DeviceFlowRecord] {
        try Self.mapped("list flows") { try connection.execute(Statements.everyFlow).map { try FlowRows.flow($0).0 } }
    }
}

extension PostgresWebStateStore {
    static let listSessions = PostgresStatement("web_session_list", """
        SELECT id_hash, subject, auth_time_ms, expires_at_ms FROM web_sessions
        WHERE $1::text IS NULL OR subject = $1::text ORDER BY id_hash
        """)

    /// Operator commands only (`devicegate sessions`). Sessions ended by a subject's revocation
    /// are left out, as `session(idHash:)` would not return them.
    public func sessions(subject: String?) throws -> [(idHash: String, session: WebSession)] {
        try PostgresSharedState.reportingStorageErrors {
            var revocations: [String: UnixTime?] = [:]
            return try connection.execute(Self.listSessions, [subject.map { .text($0) } ?? .null]).compactMap { row in
                let session = WebSession(subject: try row.string(1), authTime: UnixTime(milliseconds: try row.int64(2)),
                                         expiresAt: UnixTime(milliseconds: try row.int64(3)))
                if revocations[session.subject] == nil { revocations[session.subject] = .some(try revokedAt(session.subject)) }
                if let revoked = revocations[session.subject] ?? nil, session.authTime <= revoked { return nil }
                return (try row.string(0), session)
            }
        }
    }
}
