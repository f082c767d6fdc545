import DeviceFlow

/// The records of `FlowStorage` as the columns of migrations 2 and 5 (`FlowTables`, `RequesterColumns`), both ways: the
/// parameters a write sends and the record a row decodes to. A row that does not decode is
/// `.corrupt` (an operator's hand edit, or a newer binary's value), never a crash.
enum FlowRows {
    // MARK: Flows

    /// The columns of `flows`, in the order every flow SELECT lists them.
    static let flowColumns = """
        id, user_code_key, client_id, scope, created_ms, expires_ms, interval_s, status, subject, auth_time_ms, approved_ms, \
        denied_ms, redeemed_ms, issued_access_id, issued_access_expires_ms, issued_family_id, last_poll_ms, poll_interval_s, \
        requester_address, requester_agent
        """

    /// $1…$20 in `flowColumns` order.
    static func flowParameters(_ r: DeviceFlowRecord, _ poll: PollState) -> [PostgresValue] {
        var approval: DeviceFlowRecord.Approval?
        var denied: UnixTime?, redeemed: UnixTime?
        switch r.status {
        case .pending: break
        case .approved(let a): approval = a
        case .denied(let at): denied = at
        case .redeemed(let a, let at): approval = a; redeemed = at
        }
        return [
            .text(r.id), .text(r.userCodeKey), .text(r.clientID), .text(r.scope.description),
            .int(r.createdAt.milliseconds), .int(r.expiresAt.milliseconds), .int(Int64(r.interval)), .text(r.status.name),
            approval.map { .text($0.subject) } ?? .null, time(approval?.authTime), time(approval?.approvedAt),
            time(denied), time(redeemed),
            r.issued.map { .text($0.accessToken.id) } ?? .null, time(r.issued?.accessToken.expiresAt),
            r.issued?.refreshFamilyID.map { .text($0) } ?? .null,
            time(poll.lastPollAt), .int(Int64(poll.interval)),
        ] + requesterParameters(r.requester)
    }

    /// The record and poll state of a row of `flowColumns`.
    static func flow(_ row: PostgresRow) throws -> (DeviceFlowRecord, PollState) {
        let id = try row.string(0)
        func approval() throws -> DeviceFlowRecord.Approval {
            .init(subject: try row.string(8), authTime: UnixTime(milliseconds: try row.int64(9)),
                  approvedAt: UnixTime(milliseconds: try row.int64(10)))
        }
        let status: DeviceFlowRecord.Status
        switch try row.string(7) {
        case "pending": status = .pending
        case "approved": status = .approved(try approval())
        case "denied": status = .denied(at: UnixTime(milliseconds: try row.int64(11)))
        case "redeemed": status = .redeemed(try approval(), at: UnixTime(milliseconds: try row.int64(12)))
        default: throw FlowStorageError(.corrupt, "flow \(id): unknown status")
        }
        var issued: DeviceFlowRecord.IssuedGrant?
        if let access = row[13] {
            issued = .init(accessToken: .init(id: access, expiresAt: UnixTime(milliseconds: try row.int64(14))), refreshFamilyID: row[15])
        }
        let record = DeviceFlowRecord(
            id: id, userCodeKey: try row.string(1), clientID: try row.string(2), scope: try scope(row, 3, of: "flow \(id)"),
            createdAt: UnixTime(milliseconds: try row.int64(4)), expiresAt: UnixTime(milliseconds: try row.int64(5)),
            interval: Int(try row.int64(6)), status: status, issued: issued, requester: try requester(row, 18, of: "flow \(id)"))
        let poll = PollState(lastPollAt: try row.optionalInt64(16).map(UnixTime.init(milliseconds:)), interval: Int(try row.int64(17)))
        return (record, poll)
    }

    // MARK: Access tokens

    static let accessTokenColumns = "token_hash, client_id, subject, scope, issued_ms, expires_ms, flow_id, audience"

    static func accessTokenParameters(_ t: AccessTokenRecord) -> [PostgresValue] {
        [.text(t.tokenHash), .text(t.clientID), .text(t.subject), .text(t.scope.description), .int(t.issuedAt.milliseconds),
         .int(t.expiresAt.milliseconds), .text(t.flowID), t.audience.map { .text($0) } ?? .null]
    }

    static func accessToken(_ row: PostgresRow) throws -> AccessTokenRecord {
        let hash = try row.string(0)
        return AccessTokenRecord(
            tokenHash: hash, clientID: try row.string(1), subject: try row.string(2), scope: try scope(row, 3, of: "access token \(hash)"),
            issuedAt: UnixTime(milliseconds: try row.int64(4)), expiresAt: UnixTime(milliseconds: try row.int64(5)),
            flowID: try row.string(6), audience: row[7])
    }

    // MARK: Refresh families

    static let familyColumns = """
        id, client_id, subject, scope, auth_time_ms, created_ms, expires_ms, current_token_hash, revoked_ms, \
        access_token_ids, access_token_expires_ms, requester_address, requester_agent, last_used_ms, last_used_from
        """

    /// The columns of a family read with its access tokens (`readFamily`, the listings): the
    /// family's, with one access token (id, expiry) in 9 and 10, NULL when it has none.
    static let familyWithTokenColumns = """
        f.id, f.client_id, f.subject, f.scope, f.auth_time_ms, f.created_ms, f.expires_ms, f.current_token_hash, f.revoked_ms, \
        t.token_id, t.expires_ms, f.requester_address, f.requester_agent, f.last_used_ms, f.last_used_from
        """

    /// $1…$15 in `familyColumns` order; the access tokens as two arrays (text format).
    static func familyParameters(_ f: RefreshFamily) -> [PostgresValue] {
        [.text(f.id), .text(f.clientID), .text(f.subject), .text(f.scope.description), .int(f.authTime.milliseconds),
         .int(f.createdAt.milliseconds), .int(f.expiresAt.milliseconds), .text(f.currentTokenHash), time(f.revokedAt),
         .text(textArray(f.accessTokens.map(\.id))), .text("{" + f.accessTokens.map { String($0.expiresAt.milliseconds) }.joined(separator: ",") + "}")]
            + requesterParameters(f.requester) + [time(f.lastUsedAt), f.lastUsedFrom.map { .text($0) } ?? .null]
    }

    /// A family from its rows of `familyWithTokenColumns`, one per access token.
    static func family(_ rows: [PostgresRow]) throws -> RefreshFamily? {
        guard let row = rows.first else { return nil }
        let id = try row.string(0)
        var tokens: [RefreshFamily.IssuedAccessToken] = []
        for r in rows {
            guard let tokenID = r[9] else { continue }
            tokens.append(.init(id: tokenID, expiresAt: UnixTime(milliseconds: try r.int64(10))))
        }
        return RefreshFamily(
            id: id, clientID: try row.string(1), subject: try row.string(2), scope: try scope(row, 3, of: "refresh family \(id)"),
            authTime: UnixTime(milliseconds: try row.int64(4)), createdAt: UnixTime(milliseconds: try row.int64(5)),
            expiresAt: UnixTime(milliseconds: try row.int64(6)), currentTokenHash: try row.string(7),
            revokedAt: try row.optionalInt64(8).map(UnixTime.init(milliseconds:)), accessTokens: tokens,
            requester: try requester(row, 11, of: "refresh family \(id)"),
            lastUsedAt: try row.optionalInt64(13).map(UnixTime.init(milliseconds:)), lastUsedFrom: row[14])
    }

    /// The families of rows of `familyWithTokenColumns` ordered by family id then token.
    static func families(_ rows: [PostgresRow]) throws -> [RefreshFamily] {
        var out: [RefreshFamily] = []
        var start = 0
        for i in rows.indices where i == rows.count - 1 || rows[i + 1][0] != rows[i][0] {
            if let family = try family(Array(rows[start...i])) { out.append(family) }
            start = i + 1
        }
        return out
    }

    // MARK: Requesters (migration 5)

    static func requesterParameters(_ r: DeviceRequester?) -> [PostgresValue] {
        [r.map { .text($0.address) } ?? .null, r?.userAgent.map { .text($0) } ?? .null]
    }

    /// The requester in columns `column` (address) and `column + 1` (agent); nil when the row
    /// was written before they were kept.
    static func requester(_ row: PostgresRow, _ column: Int, of what: String) throws -> DeviceRequester? {
        guard let address = row[column] else {
            if row[column + 1] != nil { throw FlowStorageError(.corrupt, "\(what): requester agent without an address") }
            return nil
        }
        return DeviceRequester(stored: address, userAgent: row[column + 1])
    }

    // MARK: Values

    static func time(_ t: UnixTime?) -> PostgresValue { t.map { .int($0.milliseconds) } ?? .null }

    static func scope(_ row: PostgresRow, _ column: Int, of what: String) throws -> ScopeSet {
        guard let scope = ScopeSet.parse(try row.string(column)) else { throw FlowStorageError(.corrupt, "\(what): bad scope") }
        return scope
    }

    /// A one-dimensional `text[]` literal: every element double-quoted, `"` and `\` escaped
    /// with a backslash (PostgreSQL's array input syntax), so any string round-trips.
    static func textArray(_ elements: [String]) -> String {
        var out = "{"
        for (i, e) in elements.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for c in e {
                if c == "\"" || c == "\\" { out.append("\\") }
                out.append(c)
            }
            out += "\""
        }
        return out + "}"
    }
}
