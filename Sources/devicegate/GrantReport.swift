import DeviceFlow

/// One grant (a refresh family, RFC 6749 §6) as `grants list` and `grants revoke` report it:
/// the family and where it stands now (`GrantState`). Never its token hash, nor the ids of the
/// access tokens issued from it: nothing printed can be presented as a credential.
struct GrantReport {
    let family: RefreshFamily
    let state: GrantState

    /// The grants `subject` (when given, through `refreshFamilies(subject:)`) or anyone (through
    /// `everyRefreshFamily()`) holds, of `client` only when given, newest first, each with its
    /// state at `now`.
    static func load(from store: any FlowStorage, subject: String?, client: String?, now: UnixTime) throws -> [GrantReport] {
        let families = try subject.map { name in try store.refreshFamilies(subject: name).filter { $0.subject == name } }
            ?? store.everyRefreshFamily()
        // Each subject's revocation marker, read once per subject.
        var markers: [String: UnixTime?] = [:]
        func marker(_ subject: String) throws -> UnixTime? {
            if let known = markers[subject] { return known }
            let read = try store.subjectRevokedAt(subject)
            markers[subject] = .some(read)
            return read
        }
        var reports: [GrantReport] = []
        for family in families where client == nil || family.clientID == client {
            reports.append(GrantReport(family: family, state: GrantState(of: family, at: now, subjectRevokedAt: try marker(family.subject))))
        }
        return reports.sorted { ($0.family.createdAt, $0.family.id) > ($1.family.createdAt, $1.family.id) }
    }

    /// The `--json` object. Its members, all always present (null when there is no value), are
    /// listed in docs/operations.md ("grants").
    var json: JSONObject {
        var object = JSONObject()
        object.add("id", family.id)
        object.add("subject", family.subject)
        object.add("client_id", family.clientID)
        object.add("scopes", family.scope.tokens)
        object.add("state", state.name)
        object.add("approved_at", time: family.createdAt)
        object.add("expires_at", time: family.expiresAt)
        object.add("revoked_at", time: state.revokedAt)
        object.add("last_used_at", time: family.lastUsedAt)
        object.add("last_used_from", optional: family.lastUsedFrom)
        object.add("requested_from", optional: family.requester.map(\.address).flatMap { $0.isEmpty ? nil : $0 })
        object.add("product", optional: family.requester?.userAgent)
        return object
    }

    /// The readable table of `reports`.
    static func table(_ reports: [GrantReport]) -> TextTable {
        var table = TextTable("ID", "SUBJECT", "CLIENT", "SCOPES", "APPROVED", "LAST USED", "FROM", "EXPIRES", "STATE")
        for report in reports {
            let family = report.family
            table.append(family.id, family.subject, family.clientID, "\(family.scope)", OperatorTime.text(family.createdAt),
                         family.lastUsedAt.map(OperatorTime.text) ?? "never",
                         family.lastUsedFrom ?? family.requester?.address ?? "",
                         OperatorTime.text(family.expiresAt), report.state.name)
        }
        return table
    }
}
