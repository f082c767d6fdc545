import ArgumentParser
import DeviceFlow
import Observability

/// `devicegate sessions`: a person's signed-in sessions on the verification and authorization
/// pages (`WebSession`), listed or ended.
struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List or end a person's signed-in sessions on the pages.",
        subcommands: [SessionsListCommand.self, SessionsRevokeCommand.self])
}

struct SessionsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a subject's sessions: sign-in time, expiry, state.",
        discussion: "--json prints one JSON array (fields in docs/operations.md). Session ids are never printed, nor their hashes.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The subject (username) whose sessions to list.") var subject: String
    @Flag(help: "Print one JSON document (an array of objects) instead of a table.") var json = false

    func validate() throws { try OperatorArgument.checkName(subject, option: "--subject") }

    func run() throws {
        let config = try options.load()
        let storage = try options.openStorage(config)
        let now = SystemClock().now()
        let reports: [SessionReport]
        do {
            let marker = try storage.application.flows.subjectRevokedAt(subject)
            reports = try storage.application.webState.sessions(subject: subject)
                .filter { $0.session.subject == subject }
                .map { SessionReport($0.session, now: now, subjectRevokedAt: marker) }
                .sorted { $0.session.authTime > $1.session.authTime }
        } catch {
            printError("devicegate: cannot list the sessions: \(config.describe(error))")
            throw ExitCode(1)
        }
        if json {
            print(JSONObject.document(reports.map(\.json)), terminator: "")
        } else if reports.isEmpty {
            print("no sessions of \(TextTable.cell(subject))")
        } else {
            var table = TextTable("SUBJECT", "SIGNED IN", "EXPIRES", "STATE")
            for report in reports {
                table.append(report.session.subject, OperatorTime.text(report.session.authTime), OperatorTime.text(report.session.expiresAt), report.state)
            }
            print(table.rendered(), terminator: "")
        }
    }
}

/// `devicegate sessions revoke --subject S`: deletes every session of S, so that the person's
/// next page view is signed out (on every worker and host: sessions are read from the store
/// at every request). Their grants stay: `grants revoke --subject S` ends those (and sessions).
///
/// Exit status: 0 when sessions were deleted, 3 when S had none, 1 when the store failed.
struct SessionsRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Sign a subject out everywhere: delete every session of theirs.",
        discussion: """
        Their next page view asks them to sign in again. Grants already approved keep working (grants revoke \
        --subject S ends those, and sessions too). Exit status: 0 deleted, 3 no session of S, 1 storage error, \
        2 configuration error, 64 bad arguments. Run it as the owner of state_dir.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "The subject (username) to sign out.") var subject: String

    func validate() throws { try OperatorArgument.checkName(subject, option: "--subject") }

    func run() throws {
        let config = try options.load()
        try SubjectRevocationMarker.requireStateDirectoryOwner(config, command: "sessions revoke …")
        let storage = try options.openStorage(config)
        let telemetry = try makeTelemetry(config, storage: storage, logger: makeLogger("devicegate", level: config.server.logLevel))
        let identity = OperatorIdentity.current()
        let now = SystemClock().now()
        var deleted = 0
        do {
            for (idHash, session) in try storage.application.webState.sessions(subject: subject) where session.subject == subject {
                try storage.application.webState.deleteSession(idHash: idHash)
                deleted += 1
            }
        } catch {
            printError("devicegate: deleted \(deleted) session(s), then could not finish: \(config.describe(error))")
            printError("devicegate: run the command again to finish")
            recordAudit(telemetry, identity: identity, count: deleted, now: now)
            throw ExitCode(1)
        }
        guard deleted > 0 else {
            printError("devicegate: no sessions of \(TextTable.cell(subject))")
            throw ExitCode.nothingMatched
        }
        recordAudit(telemetry, identity: identity, count: deleted, now: now)
        print("deleted \(deleted) session(s) of \(TextTable.cell(subject)): signed out everywhere")
    }

    private func recordAudit(_ telemetry: Telemetry, identity: OperatorIdentity, count: Int, now: UnixTime) {
        guard count > 0 else { return }
        telemetry.record(AuditEvent(.tokenRevoked, time: now, address: "local", user: subject,
                                    details: [("reason", "operator_revoked_sessions"), ("command", "sessions revoke"),
                                              ("sessions", "\(count)")] + identity.auditDetails))
    }
}
