import ArgumentParser
import Logging
import Observability

@main
struct DeviceGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devicegate",
        abstract: "OAuth 2.0 Device Authorization Grant (RFC 8628) server: FastCGI workers behind nginx.",
        subcommands: [
            ServeCommand.self, WorkerCommand.self, CheckConfigCommand.self, ApproveCommand.self,
            DenyCommand.self, GarbageCollectCommand.self, HashSecretCommand.self, DemoConfigCommand.self,
            UsersCommand.self, TemplatesCommand.self, KeysCommand.self, StatusCommand.self, DatabaseCommand.self, StorageCommand.self,
            GrantsCommand.self, FlowsCommand.self, SessionsCommand.self,
        ])

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StandardErrorLogHandler(label: label)
            handler.logLevel = .trace
            return handler
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
