import Yams

/// `storage:`, where the state shared by the workers lives.
///
/// `backend: directory` (the default) keeps everything in `state_dir`, flock-ed, for one host.
/// `backend: postgresql` keeps flows, tokens, revocations, sessions, counters, signing keys
/// and the install's secrets in one PostgreSQL database shared by several hosts; `state_dir`
/// then holds only what is per host (audit log, metrics pages, password-hash slots).
public struct StorageSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable {
        case directory
        case postgresql
    }

    public var backend: Backend = .directory
    /// `storage.url` (or `DEVICEGATE_STORAGE_URL`): a libpq connection URI or `key=value`
    /// string; required with `postgresql`, refused with `directory`. Holds a password, so it
    /// is shown only through `ConnectionStringRedaction`.
    public var url: String?
    /// `storage.connect_timeout`: seconds per host tried (libpq's `connect_timeout`; libpq
    /// rounds 1 up to 2, so 2 is the least).
    public var connectTimeoutSeconds = 2
    /// `storage.statement_timeout_ms`: the longest one statement, or the wait for its answer,
    /// may take before the request gets 503.
    public var statementTimeoutMilliseconds = 2_000

    public init() {}

    /// `url` with its password replaced by `***`: what every message and log line shows.
    public var redactedURL: String? { url.map(ConnectionStringRedaction.redact) }
}

extension Reader {
    mutating func readStorage(_ node: Node, into settings: inout StorageSettings) {
        for (key, value) in mapping(node, "storage", allowed: ["backend", "url", "connect_timeout", "statement_timeout_ms"]) {
            let path = "storage.\(key)"
            switch key {
            case "backend":
                guard let text = string(value, path) else { continue }
                guard let backend = StorageSettings.Backend(rawValue: text) else { issue(value, path, "expected directory or postgresql"); continue }
                settings.backend = backend
            case "url":
                guard case .scalar(let scalar) = value else { issue(value, path, "expected a string"); continue }
                if let problem = StorageSettings.urlProblem(scalar.string) { issue(value, path, problem); continue }
                settings.url = scalar.string
            case "connect_timeout": settings.connectTimeoutSeconds = int(value, path, range: 2...60) ?? settings.connectTimeoutSeconds
            case "statement_timeout_ms":
                settings.statementTimeoutMilliseconds = int(value, path, range: 100...600_000) ?? settings.statementTimeoutMilliseconds
            default: break
            }
        }
    }

    /// Checks that need the rest of the configuration (and the environment override).
    mutating func validateStorage(_ config: DeviceGateConfiguration) {
        switch config.storage.backend {
        case .postgresql:
            if config.storage.url == nil {
                issue(at: "storage.backend", "postgresql needs storage.url (or DEVICEGATE_STORAGE_URL), e.g. postgresql://devicegate@db1,db2/devicegate?target_session_attrs=read-write")
            }
            if config.tokens.keysDirectory != nil {
                issue(at: "tokens.keys_dir", "is not used with storage.backend: postgresql (the signing keys are in the database, shared by every host): remove it")
            }
        case .directory:
            if config.storage.url != nil {
                issue(at: "storage.url", "is used only with storage.backend: postgresql; the directory backend keeps its state in state_dir")
            }
        }
    }
}

extension StorageSettings {
    /// Why `text` cannot be a libpq connection string, or nil. Never quotes `text`: it may
    /// hold a password.
    static func urlProblem(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "must not contain control characters" }
        let uri = text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
        if !uri && !text.contains("=") {
            return "expected a libpq connection URI (postgresql://user@host/dbname) or key=value string (host=… dbname=…)"
        }
        return nil
    }
}
