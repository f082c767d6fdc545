#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig
import FlowStore
import Logging

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
    let bytes = Array((message + (newline ? "\n" : "")).utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func makeLogger(_ label: String, level: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}

func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let cwd = getcwd(nil, 0) else { return path }
    defer { free(cwd) }
    return String(cString: cwd) + "/" + path
}
