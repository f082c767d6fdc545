#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateWeb
import DirectoryStorage
import Observability

/// `devicegate users remove NAME`: takes the user out of the users file, then revokes
/// everything they hold, in that order, so no sign-in can slip in between the two: their
/// sessions, refresh-token families and access tokens, and approvals not yet redeemed
/// (`FileFlowStore.revokeSubject`). Every worker's next check sees it; nothing is restarted.
struct UsersRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a user from the users file and revoke their sessions and tokens.",
        discussion: """
        Removes NAME from web.users_file (or --file), then revokes, in the state directory, every \
        session, refresh token and access token NAME was given before now, and every approval by \
        NAME not yet redeemed. Run it as the service user (the owner of state_dir); a name that is \
        not in the users file (e.g. a delegated sign-in subject) is still revoked, so running it \
        again always finishes the job.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "The users file (default: web.users_file of the configuration).") var file: String?
    @Argument(help: "The username (the subject of their tokens).") var name: String

    func validate() throws {
        guard !name.isEmpty, name.utf8.count <= 255,
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("the name must be 1 to 255 bytes without control characters")
        }
    }

    func run() throws {
        let config = try options.load()
        try SubjectRevocationMarker.requireStateDirectoryOwner(config, command: "users remove \(name)")
        let path = file ?? config.web.usersFile
        var st = stat()
        if stat(path, &st) == 0 {
            guard let text = readTextFile(path) else {
                printError("devicegate: cannot read \(path): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            var users = UsersFile.parse(text).file
            if users.hash(for: name) != nil {
                users.entries.removeAll { $0.name == name }
                try UsersAddCommand.writeAtomically(path, users.rendered(), like: st)
                print("removed \(name) from \(path)")
            } else {
                print("\(name) is not in \(path); revoking their sessions and tokens anyway")
            }
        } else {
            print("no users file at \(path); revoking \(name)'s sessions and tokens anyway")
        }

        let now = SystemClock().now()
        do {
            // The configured backend's store, as the workers see it.
            let storage = try options.openStorage(config)
            try storage.application.flows.revokeSubject(name, at: now, keepUntil: SubjectRevocationMarker.keepUntil(config, now: now))
            let telemetry = try makeTelemetry(config, storage: storage, logger: makeLogger("devicegate", level: config.server.logLevel))
            telemetry.record(AuditEvent(.tokenRevoked, time: now, address: "local", user: name,
                                        details: [("reason", "user_removed"), ("via", "cli"), ("operator", commandUser())]))
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("devicegate: could not revoke \(name)'s sessions and tokens: \(config.describe(error))")
            printError("devicegate: run this command again as the owner of \(config.stateDirectory) (e.g. sudo -u devicegate devicegate users remove \(name)) to finish")
            throw ExitCode(1)
        }
        print("revoked every session, refresh token and access token of \(name) issued before now")
    }
}
