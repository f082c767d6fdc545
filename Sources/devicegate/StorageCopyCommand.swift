#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig
import DeviceGateWeb
import DirectoryStorage
import PostgresStorage

/// `devicegate storage`: moving the shared state between backends.
struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Move the shared state between backends.", subcommands: [StorageCopyCommand.self])
}

/// `devicegate storage copy --from DIR -c FILE`: carries a directory install's live state into
/// the PostgreSQL database of FILE, so that nobody is signed out and live user codes keep
/// working: signing keys (in order, the active one last), the user-code pepper and the web
/// secret, pending and approved flows with their user-code claims and poll state, access
/// tokens, refresh families with every token they ever had (reuse is still detected),
/// access-token and subject revocations, and sessions.
///
/// Idempotent: what the database already holds is skipped, so it may run again (after a
/// first copy while the directory install still serves, and once more after stopping it).
/// Refuses when the database holds live data under other secrets.
struct StorageCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy a state directory's live state into the configured PostgreSQL database.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The directory install's state_dir.") var from: String
    @Option(help: "The directory install's tokens.keys_dir (default: FROM/keys).") var keysDir: String?

    /// The names under which the PostgreSQL stores keep the two secrets in devicegate_secrets
    /// (`PostgresFlowStore.init`, `PostgresWebStateStore.init`); `copy` checks that the stores
    /// then derive what the directory derived, so a renamed secret stops the copy, never half-does it.
    static let pepperName = "user-code-pepper"
    static let webSecretName = "web-secret"

    static let selectSecret = PostgresStatement("copy_secret_select", "SELECT value FROM devicegate_secrets WHERE name = $1")
    static let upsertSecret = PostgresStatement("copy_secret_upsert",
        "INSERT INTO devicegate_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")

    func run() throws {
        let config = try options.load()
        guard config.storage.backend == .postgresql else {
            printError("devicegate: storage copy writes into storage.backend: postgresql; \(options.path) uses the directory backend")
            throw ExitCode(1)
        }
        let source = StateDirectory(root: absolutePath(from))
        do {
            try copy(config: config, source: source)
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("devicegate: storage copy stopped (run it again to finish; what is copied is skipped): \(config.describe(error))")
            throw ExitCode(1)
        }
    }

    private func copy(config: DeviceGateConfiguration, source: StateDirectory) throws {
        let now = SystemClock().now()
        let dirFlows = try FileFlowStore(directory: source)
        let dirWeb = try FileWebStateStore(directory: source)
        let dirKeys = try KeyFiles(directory: keysDir ?? source.keysDirectory)
        let connection = try options.openDatabase(config)
        try carrySecrets(config: config, connection: connection, source: source, now: now)

        let storage = try options.openStorage(config)
        guard case .postgresql(_, let flows, let web) = storage.backend else { return }
        // The stores must now derive what the directory derived from the same secrets.
        let probe = "COPYPROBE"
        guard flows.userCodeKey(forCanonicalUserCode: probe) == dirFlows.userCodeKey(forCanonicalUserCode: probe) else {
            printError("devicegate: the PostgreSQL flow store does not use the copied pepper (devicegate_secrets '\(Self.pepperName)'); nothing else was copied")
            throw ExitCode(1)
        }
        guard web.secretKey == dirWeb.secretKey else {
            printError("devicegate: the PostgreSQL web store does not use the copied web secret (devicegate_secrets '\(Self.webSecretName)'); nothing else was copied")
            throw ExitCode(1)
        }
        var counts = StateCopy.Counts()
        counts.keys = try StateCopy.keys(from: dirKeys, to: storage.application.keys)
        let copier = StateCopy(source: source, from: dirFlows, fromWeb: dirWeb, to: flows, toWeb: web, now: now)
        try copier.run(into: &counts, knownSubjects: Array(config.users.keys) + usersFileNames(config))
        print("copied from \(source.root) to \(config.redactedStorageURL): \(counts)")
    }

    /// Puts the directory's pepper and web secret into devicegate_secrets. A database with other
    /// secrets is overwritten only while it holds no live data: otherwise its own user codes
    /// and sessions would break, and the copy stops.
    private func carrySecrets(config: DeviceGateConfiguration, connection: PostgresConnection, source: StateDirectory, now: UnixTime) throws {
        let wanted = [(Self.pepperName, try source.exportedPepper()), (Self.webSecretName, try source.exportedWebSecret())]
        var differing: [String] = []
        for (name, value) in wanted {
            if let row = try connection.execute(Self.selectSecret, [.text(name)]).first, try row.bytes(0) != value { differing.append(name) }
        }
        if !differing.isEmpty {
            let live = try PostgresFlowStore(connection: connection).summary(now: now)
            if live.pendingFlows + live.approvedFlows + live.accessTokens + live.refreshFamilies > 0 {
                printError("devicegate: \(config.redactedStorageURL) already holds live flows or tokens under other secrets (\(differing.joined(separator: ", "))); storage copy would break them, so nothing was copied. Copy into an empty database (devicegate db migrate on a new one)")
                throw ExitCode(1)
            }
        }
        for (name, value) in wanted { try connection.execute(Self.upsertSecret, [.text(name), .bytes(value)]) }
    }

    /// The names in the users file, as subjects whose revocations may need carrying.
    private func usersFileNames(_ config: DeviceGateConfiguration) -> [String] {
        guard config.web.signIn == .embedded, let text = readTextFile(config.web.usersFile) else { return [] }
        return UsersFile.parse(text).file.entries.map(\.name)
    }
}
