#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DirectoryStorage
import PostgresStorage

/// The stores of `storage.backend`, opened one way for the worker, the supervisor and every
/// command, so that what `approve` or `gc` touches is what the workers serve from.
struct OpenedStorage {
    /// What the application runs on.
    let application: ApplicationStorage
    /// This host's `state_dir` on either backend: audit log, counter pages, hash slots.
    let host: StateDirectory
    let backend: Backend

    enum Backend {
        /// `backend: directory`: everything in `state_dir`.
        case directory(FileFlowStore, FileWebStateStore)
        /// `backend: postgresql`: the shared stores over this process's one connection.
        case postgresql(PostgresConnection, PostgresFlowStore, PostgresWebStateStore)
    }
}

extension DeviceGateConfiguration {
    /// libpq settings from `storage:`; only meaningful with `backend: postgresql`.
    var postgresSettings: PostgresSettings {
        PostgresSettings(url: storage.url ?? "", connectTimeoutSeconds: storage.connectTimeoutSeconds,
                         statementTimeoutMilliseconds: storage.statementTimeoutMilliseconds)
    }

    /// `storage.url` as every message shows it.
    var redactedStorageURL: String { storage.redactedURL ?? "(no storage.url)" }

    /// `error` as an operator reads it, with no password of `storage.url` in it.
    func describe(_ error: any Error) -> String {
        ConnectionStringRedaction.scrub("\(error)", of: storage.url)
    }
}

/// Why the database cannot serve this binary, as one line, or nil when it can: unreachable,
/// wrong credentials, or a schema that is missing, older or newer (`PostgresSchema.status`).
struct DatabaseReadiness {
    enum Finding: Equatable {
        case ready
        case unreachable(String)
        case credentialsRefused(String)
        case schema(PostgresSchema.Status)
    }

    /// Connects (through `PostgresSchema.status`, the first statement) and classifies.
    static func check(_ connection: PostgresConnection) -> Finding {
        do {
            let status = try PostgresSchema.status(connection)
            return status == .current ? .ready : .schema(status)
        } catch let error as PostgresError {
            // libpq reports a refused password, an unknown role or a pg_hba.conf rejection only
            // as text; SQLSTATE 28000/28P01 when the server answered a statement.
            let text = error.message.lowercased()
            let auth = error.sqlState?.hasPrefix("28") == true || text.contains("password authentication failed")
                || text.contains("authentication failed") || text.contains("no password supplied") || text.contains("pg_hba.conf")
                || (text.contains("role") && text.contains("does not exist"))
            return auth ? .credentialsRefused(error.message) : .unreachable(error.message)
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// The one line for a finding other than `.ready`, naming the URL (redacted) and the fix.
    static func line(_ finding: Finding, config: DeviceGateConfiguration, configPath: String) -> String {
        let url = config.redactedStorageURL
        let scrub = { (text: String) in ConnectionStringRedaction.scrub(text, of: config.storage.url) }
        switch finding {
        case .ready:
            return "PostgreSQL at \(url): reachable, credentials accepted, \(PostgresSchema.Status.current)"
        case .unreachable(let message):
            return "devicegate: cannot reach PostgreSQL at \(url) (storage.url): \(scrub(message))"
        case .credentialsRefused(let message):
            return "devicegate: PostgreSQL at \(url) refused the credentials of storage.url (check the user and DEVICEGATE_STORAGE_URL's password): \(scrub(message))"
        case .schema(let status):
            return "devicegate: PostgreSQL at \(url) has \(schemaAdvice(status, configPath: configPath))"
        }
    }

    /// The schema's state against this binary's, and what to do about it.
    static func schemaAdvice(_ status: PostgresSchema.Status, configPath: String) -> String {
        switch status {
        case .missing: "no devicegate schema: run devicegate db migrate -c \(configPath)"
        case .older(let v): "schema version \(v), older than this binary's \(PostgresSchema.version): run devicegate db migrate -c \(configPath)"
        case .newer(let v): "schema version \(v), newer than this binary's \(PostgresSchema.version): upgrade devicegate on this host first"
        case .current: "\(PostgresSchema.Status.current)"
        }
    }
}

extension ConfigOptions {
    /// The configured backend's stores, or a message naming what to fix and exit 1. On
    /// PostgreSQL the schema must be exactly this binary's (`devicegate db migrate`).
    func openStorage(_ config: DeviceGateConfiguration) throws -> OpenedStorage {
        switch config.storage.backend {
        case .directory:
            let flows = try openStore(config)
            let web = try openWebStore(flows)
            let keys: KeyFiles
            do {
                keys = try KeyFiles(directory: config.keysDirectory)
            } catch {
                printError("devicegate: cannot use the signing keys in \(config.keysDirectory): \(error)")
                throw ExitCode(1)
            }
            return OpenedStorage(application: .stateDirectory(flows: flows, webState: web, keys: keys), host: flows.directory,
                                 backend: .directory(flows, web))
        case .postgresql:
            let connection = try openDatabase(config)
            // The per-host part of state_dir: audit log, counter pages, password-hash slots.
            let host = StateDirectory(root: config.stateDirectory)
            do {
                try host.prepare()
                let slots = try FileWebStateStore(directory: host)
                let storage = try ApplicationStorage.postgres(connection: connection, hostDirectory: host.root,
                                                              slots: { pool, count in try slots.claimSlot(pool: pool, count: count) })
                guard let flows = storage.flows as? PostgresFlowStore, let web = storage.webState as? PostgresWebStateStore else {
                    preconditionFailure("ApplicationStorage.postgres builds the PostgreSQL stores")
                }
                return OpenedStorage(application: storage, host: host, backend: .postgresql(connection, flows, web))
            } catch {
                printError("devicegate: \(config.describe(error))")
                throw ExitCode(1)
            }
        }
    }

    /// This process's connection to `storage.url`, checked: reachable, credentials accepted,
    /// schema current; otherwise one line and exit 1.
    func openDatabase(_ config: DeviceGateConfiguration, requireCurrentSchema: Bool = true) throws -> PostgresConnection {
        let connection = PostgresConnection(settings: config.postgresSettings)
        let finding = DatabaseReadiness.check(connection)
        switch finding {
        case .ready: return connection
        case .schema where !requireCurrentSchema: return connection
        default:
            printError(DatabaseReadiness.line(finding, config: config, configPath: path))
            throw ExitCode(1)
        }
    }
}
