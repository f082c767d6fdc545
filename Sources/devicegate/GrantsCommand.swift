import ArgumentParser
import DeviceFlow

/// `devicegate grants`: the grants people approved, i.e. refresh-token families (RFC 6749 §6).
/// A grant without a refresh token is not one of them: it ends with its access token.
struct GrantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants", abstract: "List and revoke the grants people approved (their refresh tokens).",
        subcommands: [GrantsListCommand.self, GrantsRevokeCommand.self])
}

/// `devicegate grants list`: who holds which grant, when it was approved and last used, from
/// where, until when, and whether it is live. Reads the configured backend as the workers do.
struct GrantsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List grants: id, subject, client, scopes, approved, last used and from where, expiry, state.",
        discussion: """
        Without --all only live grants are listed; --all adds revoked and expired ones, until garbage \
        collection removes them. With --subject only that subject's grants are read. --json prints one \
        JSON array for scripts (fields in docs/operations.md). No token, hash or access token id is ever printed.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this subject's grants.") var subject: String?
    @Option(help: "Only grants of this client id.") var client: String?
    @Flag(help: "Also revoked and expired grants.") var all = false
    @Flag(help: "Print one JSON document (an array of objects) instead of a table.") var json = false

    func validate() throws {
        try OperatorArgument.checkName(subject, option: "--subject")
        try OperatorArgument.checkName(client, option: "--client")
    }

    func run() throws {
        let config = try options.load()
        let storage = try options.openStorage(config)
        let reports: [GrantReport]
        do {
            reports = try GrantReport.load(from: storage.application.flows, subject: subject, client: client, now: SystemClock().now())
                .filter { all || $0.state == .live }
        } catch {
            printError("devicegate: cannot list the grants: \(config.describe(error))")
            throw ExitCode(1)
        }
        if json {
            print(JSONObject.document(reports.map(\.json)), terminator: "")
        } else if reports.isEmpty {
            print(all ? "no grants" : "no live grants (--all lists revoked and expired ones too)")
        } else {
            print(GrantReport.table(reports).rendered(), terminator: "")
        }
    }
}
