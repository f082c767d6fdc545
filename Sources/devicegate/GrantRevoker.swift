import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import Observability

/// What `grants revoke` does, in order, each step audited as it is done: one grant by id, or a
/// subject's grants (of one client, or all of them after the subject's revocation marker).
/// Every step is idempotent, so a run cut short by a failing store is finished by running again.
final class GrantRevoker {
    /// The lines to print, and how many grants matched (revoked now or before).
    struct Outcome {
        var lines: [String] = []
        var matched = 0
    }

    private let flows: any FlowStorage
    private let service: FlowService
    private let config: DeviceGateConfiguration
    private let telemetry: Telemetry
    private let identity: OperatorIdentity
    private let now: UnixTime
    /// The ids of the grants revoked so far, for the message of a run cut short.
    private(set) var done: [String] = []

    init(storage: ApplicationStorage, config: DeviceGateConfiguration, telemetry: Telemetry, identity: OperatorIdentity, now: UnixTime) {
        flows = storage.flows
        service = FlowService(store: storage.flows, clients: config.clientRegistry, policy: config.flowPolicy,
                              issuer: OpaqueTokenIssuer(accessTokenLifetime: config.lifetimes.accessToken))
        self.config = config
        self.telemetry = telemetry
        self.identity = identity
        self.now = now
    }

    /// `grants revoke ID`: that grant, whoever holds it.
    func revoke(id: String) throws -> Outcome {
        switch try service.revokeGrant(id: id, subject: nil, now: now) {
        case .revoked(let family):
            audit(family)
            return Outcome(lines: ["revoked grant \(family.id) of \(TextTable.cell(family.subject)) (client \(TextTable.cell(family.clientID))) and its \(liveAccessTokens(family)) live access token(s)"], matched: 1)
        case .alreadyRevoked(let family):
            return Outcome(lines: ["grant \(family.id) of \(TextTable.cell(family.subject)) was already revoked at \(family.revokedAt.map(OperatorTime.text) ?? "?")"], matched: 1)
        case .unknown:
            return Outcome()
        }
    }

    /// `grants revoke --subject S [--client C]`. Without a client the marker comes first: from
    /// that instant nothing of `subject` issued before it works anywhere, and the grants'
    /// own records are then marked one by one.
    func revoke(subject: String, client: String?) throws -> Outcome {
        var outcome = Outcome()
        let shown = TextTable.cell(subject)
        if client == nil {
            try flows.revokeSubject(subject, at: now, keepUntil: SubjectRevocationMarker.keepUntil(config, now: now))
            telemetry.record(AuditEvent(.tokenRevoked, time: now, address: "local", user: subject,
                                        details: [("reason", "operator_revoked_subject"), ("command", "grants revoke")] + identity.auditDetails))
            outcome.lines.append("revoked every access token, refresh token and session of \(shown) issued before now")
        }
        let families = try flows.refreshFamilies(subject: subject)
            .filter { $0.subject == subject && (client == nil || $0.clientID == client) }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        var already: [String] = []
        var revokedNow = 0
        for family in families {
            switch try service.revokeGrant(id: family.id, subject: subject, now: now) {
            case .revoked(let revoked):
                audit(revoked)
                revokedNow += 1
                outcome.lines.append("revoked grant \(revoked.id) (client \(TextTable.cell(revoked.clientID))) and its \(liveAccessTokens(revoked)) live access token(s)")
            case .alreadyRevoked(let family):
                already.append(family.id)
            case .unknown:
                continue  // collected in the meantime
            }
            outcome.matched += 1
        }
        if !already.isEmpty { outcome.lines.append("already revoked: \(already.joined(separator: ", "))") }
        let scope = client.map { " of client \(TextTable.cell($0))" } ?? ""
        outcome.lines.append("\(revokedNow) grant(s) of \(shown)\(scope) revoked now, \(already.count) already revoked")
        return outcome
    }

    private func liveAccessTokens(_ family: RefreshFamily) -> Int { family.accessTokens.filter { $0.expiresAt > now }.count }

    /// One `token.revoked` line per grant: who (operator, run_as), what (grant id, subject, client).
    private func audit(_ family: RefreshFamily) {
        done.append(family.id)
        telemetry.record(AuditEvent(.tokenRevoked, time: now, address: "local", user: family.subject, clientID: family.clientID,
                                    scope: "\(family.scope)",
                                    details: [("reason", "operator_revoked"), ("command", "grants revoke"), ("grant", family.id),
                                              ("access_tokens", "\(liveAccessTokens(family))")] + identity.auditDetails))
    }
}
