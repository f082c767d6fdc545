import ArgumentParser
import DeviceFlow

/// `devicegate flows`: the device flows the store holds (RFC 8628 §3.1 requests and their fate).
struct FlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows", abstract: "List device flows: client, state, age, the device's address and product.",
        subcommands: [FlowsListCommand.self])
}

/// `devicegate flows list [--pending] [--json]`, newest first.
struct FlowsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List device flows: client, state, age, expiry, the device's address and product, the approving subject.",
        discussion: """
        Every flow the store holds (until garbage collection removes it), or with --pending only those still \
        waiting for a decision. Codes are never printed, nor their hashes. --json prints one JSON array \
        (fields in docs/operations.md).
        """)

    @OptionGroup var options: ConfigOptions
    @Flag(help: "Only flows waiting for a decision whose code has not expired.") var pending = false
    @Flag(help: "Print one JSON document (an array of objects) instead of a table.") var json = false

    func run() throws {
        let config = try options.load()
        let storage = try options.openStorage(config)
        let now = SystemClock().now()
        let reports: [FlowReport]
        do {
            reports = try storage.application.flows.everyFlow()
                .map { FlowReport($0, now: now) }
                .filter { !pending || $0.state == "pending" }
                .sorted { ($0.flow.createdAt, $0.flow.id) > ($1.flow.createdAt, $1.flow.id) }
        } catch {
            printError("devicegate: cannot list the flows: \(config.describe(error))")
            throw ExitCode(1)
        }
        if json {
            print(JSONObject.document(reports.map { $0.json(now: now) }), terminator: "")
        } else if reports.isEmpty {
            print(pending ? "no pending flows" : "no flows")
        } else {
            print(FlowReport.table(reports, now: now).rendered(), terminator: "")
        }
    }
}
