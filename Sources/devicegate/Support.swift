#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig
import DirectoryStorage
import HostFiles
import Logging
import Observability

/// The system wall clock.
struct SystemClock: WallClock {
    func now() -> UnixTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

/// `--config`, shared by every command that reads the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Configuration file (default: $DEVICEGATE_CONFIG or /etc/devicegate/devicegate.yaml).")
    var config: String?

    var path: String {
        config ?? environment()["DEVICEGATE_CONFIG"] ?? "/etc/devicegate/devicegate.yaml"
    }

    /// Loads and validates, or prints every problem and exits 2.
    func load() throws -> DeviceGateConfiguration {
        switch loadResult() {
        case .success(let config): return config
        case .failure(let failure):
            printError(failure.message)
            throw ExitCode(2)
        }
    }

    func loadResult() -> Result<DeviceGateConfiguration, ConfigLoadFailure> {
        guard let text = readTextFile(path) else {
            return .failure(ConfigLoadFailure(message: "\(path): cannot read configuration file: \(String(cString: strerror(errno)))"))
        }
        do {
            return .success(try ConfigurationLoader().load(yaml: text, fileName: path, environment: environment()))
        } catch {
            return .failure(ConfigLoadFailure(message: error.description))
        }
    }

    /// Opens the prepared state directory, or explains why it cannot be used and exits 1.
    func openStore(_ config: DeviceGateConfiguration) throws -> FileFlowStore {
        let directory = StateDirectory(root: config.stateDirectory)
        do {
            try directory.prepare()
            return try FileFlowStore(directory: directory)
        } catch {
            printError("devicegate: \(error)")
            throw ExitCode(1)
        }
    }
}

extension ConfigOptions {
    /// The verification page's sessions and counters, in the same state directory.
    func openWebStore(_ store: FileFlowStore) throws -> FileWebStateStore {
        do {
            return try FileWebStateStore(directory: store.directory)
        } catch {
            printError("devicegate: \(error)")
            throw ExitCode(1)
        }
    }
}

struct ConfigLoadFailure: Error { var message: String }

func environment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        pointer += 1
    }
    return result
}

func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func printError(_ message: String, newline: Bool = true) {
    StandardError.write(Array((message + (newline ? "\n" : "")).utf8))
}

func makeLogger(_ label: String, level: String, format: DeviceGateConfiguration.LogFormat = .text) -> Logger {
    var logger = Logger(label: label) { StandardErrorLogHandler(label: $0, format: format == .json ? .json : .text) }
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}

func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let cwd = getcwd(nil, 0) else { return path }
    defer { free(cwd) }
    return String(cString: cwd) + "/" + path
}

/// Opens the audit log where the configuration says, or explains why not and exits 1: a
/// problem found at start, never on the first approval.
func openAuditSink(_ config: DeviceGateConfiguration) throws -> (any AuditSink)? {
    switch config.auditDestination {
    case .off: return nil
    case .standardError: return StandardErrorAuditSink()
    case .file(let path):
        do {
            return try FileAuditSink(path: path)
        } catch {
            printError("devicegate: cannot open the audit log (audit.file): \(error)")
            throw ExitCode(1)
        }
    }
}

/// A process's telemetry: the audit log, and a counter page when metrics are enabled (in this
/// host's state directory, on either backend), counting unknown codes in the backend's shared
/// tables. A page that cannot be claimed (a full disk) costs the metrics, never the service.
func makeTelemetry(_ config: DeviceGateConfiguration, storage: OpenedStorage, logger: Logger) throws -> Telemetry {
    let audit = try openAuditSink(config)
    var page: CounterPage?
    if config.operations.metricsEnabled {
        do {
            page = try CounterPage.claimSlot(in: storage.host.root, layout: MetricsLayout.id, count: MetricsLayout.count)
        } catch {
            logger.warning("metrics disabled in this process: cannot claim a counter page", metadata: ["error": "\(error)"])
        }
    }
    let telemetry = Telemetry(audit: audit, counters: page, logger: logger)
    telemetry.shareUnknownCredentials(storage.application.unknownCodeTables)
    return telemetry
}

/// The user running a command, for the audit log (`sudo devicegate approve` names the sudoer):
/// `OperatorIdentity`'s operator.
func commandUser() -> String { OperatorIdentity.current().name }
