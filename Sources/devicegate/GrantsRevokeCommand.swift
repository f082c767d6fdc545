import ArgumentParser
import DeviceFlow
import Observability

/// `devicegate grants revoke ID | --subject S [--client C]`: revokes grants with the access
/// tokens issued from them (`FlowService.revokeGrant`), seen by every worker (and host) at the
/// next request. Without `--client`, the subject's revocation marker is written first
/// (`FlowStorage.revokeSubject`, as `users remove` does), which also ends the subject's access
/// tokens issued without a refresh token and their sessions: a live session could otherwise
/// approve a new grant at once. Every revocation is audited with the operator (`OperatorIdentity`).
///
/// Exit status: 0 when something was revoked or already was; 3 when no grant matched (the
/// marker is written all the same); 1 when the store failed; 2 for a bad configuration; 64 for
/// bad arguments.
struct GrantsRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke one grant, or every grant of a subject (of one client only with --client), with their access tokens.",
        discussion: """
        ID revokes that grant (ids as grants list prints them). --subject S revokes every grant of S; without \
        --client it also revokes every access token and every session of S issued before now, including tokens \
        issued without a refresh token, since a live session could approve a new grant at once. With --client C \
        only S's grants of client C are revoked and S stays signed in. Exit status: 0 revoked (or already \
        revoked), 3 nothing matched, 1 storage error, 2 configuration error, 64 bad arguments. Run it as the \
        owner of state_dir.
        """)

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The grant id, as grants list prints it.") var id: String?
    @Option(help: "Revoke every grant of this subject.") var subject: String?
    @Option(help: "With --subject: only the grants of this client id.") var client: String?

    func validate() throws {
        if client != nil, subject == nil { throw ValidationError("--client is only for --subject S --client C") }
        switch (id, subject) {
        case (nil, nil): throw ValidationError("name a grant id, or --subject S")
        case (.some, .some): throw ValidationError("give a grant id or --subject, not both")
        default: break
        }
        if let id { try OperatorArgument.checkGrantID(id) }
        try OperatorArgument.checkName(subject, option: "--subject")
        try OperatorArgument.checkName(client, option: "--client")
    }

    func run() throws {
        let config = try options.load()
        try SubjectRevocationMarker.requireStateDirectoryOwner(config, command: "grants revoke …")
        let storage = try options.openStorage(config)
        let telemetry = try makeTelemetry(config, storage: storage, logger: makeLogger("devicegate", level: config.server.logLevel))
        let revoker = GrantRevoker(storage: storage.application, config: config, telemetry: telemetry,
                                   identity: OperatorIdentity.current(), now: SystemClock().now())
        let outcome: GrantRevoker.Outcome
        do {
            if let id {
                outcome = try revoker.revoke(id: id)
            } else {
                outcome = try revoker.revoke(subject: subject!, client: client)
            }
        } catch {
            printError("devicegate: \(revoker.done.isEmpty ? "" : "revoked \(revoker.done.count) grant(s), then ")could not finish: \(config.describe(error))")
            printError("devicegate: run the command again to finish (revoking is idempotent)")
            throw ExitCode(1)
        }
        for line in outcome.lines { print(line) }
        if outcome.matched == 0 {
            printError("devicegate: no grant matched (grants list --all lists them)")
            throw ExitCode.nothingMatched
        }
    }
}
