#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles
import Logging

/// What a worker tells the operator: audit events, and the counters behind the metrics.
///
/// Recording never fails a request. An audit line that cannot be written (a full disk) is
/// logged and counted (`devicegate_audit_write_failures_total`), and the request goes on: the
/// decision it records is already durable in the state directory.
public final class Telemetry: @unchecked Sendable {
    let audit: (any AuditSink)?
    let counters: CounterPage?
    let logger: Logger
    private var lastAuditFailureLog: Int64?

    public init(audit: (any AuditSink)?, counters: CounterPage?, logger: Logger) {
        self.audit = audit
        self.counters = counters
        self.logger = logger
    }

    /// Records nothing: tests and commands that need no audit trail.
    public static func disabled() -> Telemetry { Telemetry(audit: nil, counters: nil, logger: Logger(label: "devicegate.none")) }

    public func record(_ event: AuditEvent) {
        counters?.add(MetricsLayout.event(event.kind))
        write(event)
    }

    /// Unknown device codes and refresh tokens per address and minute, each kind in a table
    /// shared by every process of the host (`UnknownCodeCounting`: the file store's
    /// `FileUnknownCodeCounts` of the directory backend, set by `shareUnknownCredentials`); without one they are
    /// counted in this process only.
    private var shared: [UnknownCredential: any UnknownCodeCounting] = [:]
    private var tallies = Dictionary(uniqueKeysWithValues: UnknownCredential.allCases.map { ($0, UnknownCodeTally(kind: $0)) })
    private var lastDueScan: Int64?

    /// Counts unknown credentials of `kind` in `table` from now on: the storage backend's
    /// table (`ApplicationStorage.unknownCredentials`), shared by every worker.
    public func shareUnknownCredentials(_ kind: UnknownCredential, in table: any UnknownCodeCounting) {
        shared[kind] = table
    }

    /// Counts every kind in its table (a backend's `UnknownCodeCounting` per kind).
    public func shareUnknownCredentials(_ tables: [UnknownCredential: any UnknownCodeCounting]) {
        for (kind, table) in tables { shared[kind] = table }
    }

    /// Counts an unknown device code or refresh token from `address` (an `AddressKey`): in the
    /// `grant.refused` metric at once, in the audit log as one line per address a minute.
    public func recordUnknownCode(_ kind: UnknownCredential = .deviceCode, address: String, clientID: String, now: UnixTime) {
        counters?.add(MetricsLayout.event(.grantRefused))
        if let table = shared[kind] {
            do {
                for count in try table.add(address: address, clientID: clientID, window: UnknownCodeTally.minute(of: now)) {
                    write(UnknownCodeTally.event(count, kind: kind))
                }
                return
            } catch {
                // The shared table cannot be written (a full disk): count here instead.
                logger.debug("unknown-code table unavailable", metadata: ["error": "\(error)"])
            }
        }
        for event in tallies[kind, default: UnknownCodeTally(kind: kind)].add(address: address, clientID: clientID, now: now) { write(event) }
    }

    /// Writes the unknown-code lines of minutes that have ended; called for every request and
    /// every housekeeping tick. With the shared tables, each is read once a minute per
    /// process; otherwise this costs one comparison per kind when nothing is counted.
    public func flushUnknownCodes(now: UnixTime) {
        if !shared.isEmpty {
            let minute = UnknownCodeTally.minute(of: now)
            if lastDueScan != minute {
                lastDueScan = minute
                for (kind, table) in shared.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    for count in (try? table.takeDue(window: minute)) ?? [] { write(UnknownCodeTally.event(count, kind: kind)) }
                }
            }
        }
        for kind in UnknownCredential.allCases where !(tallies[kind]?.isEmpty ?? true) {
            for event in tallies[kind]!.due(now: now) { write(event) }
        }
    }

    /// Writes every unknown-code line this process still holds: at a worker's graceful stop
    /// (the shared tables outlive the worker; the supervisor or another worker writes them).
    public func drainUnknownCodes() {
        for kind in UnknownCredential.allCases {
            for event in tallies[kind]?.drain() ?? [] { write(event) }
        }
    }

    private func write(_ event: AuditEvent) {
        guard let audit else { return }
        do {
            try audit.write(event)
        } catch {
            counters?.add(MetricsLayout.auditWriteFailures)
            // Once a minute at most: a full disk would otherwise double every request's logging.
            let now = event.time.milliseconds
            if lastAuditFailureLog.map({ now &- $0 >= 60_000 || now < $0 }) ?? true {
                lastAuditFailureLog = now
                logger.error("cannot write the audit log", metadata: ["error": "\(error)", "event": "\(event.kind.rawValue)"])
            }
        }
    }

    /// Counts one request: its endpoint, status and how long the application took.
    public func observe(_ endpoint: MetricsLayout.Endpoint, status: Int, microseconds: UInt64) {
        guard let counters else { return }
        counters.add(MetricsLayout.requests(endpoint, status: status))
        if let bucket = MetricsLayout.bucket(endpoint, microseconds: microseconds) { counters.add(bucket) }
        counters.add(MetricsLayout.latencySum(endpoint), microseconds)
    }

    public func countStorageFailure() { counters?.add(MetricsLayout.storageFailures) }

    public func countWorkerRestart() { counters?.add(MetricsLayout.workerRestarts) }

    /// Monotonic microseconds, for request timing.
    public static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}

/// The audit log as a JSON-lines file (`audit.file`, default `<state_dir>/audit.jsonl`).
public final class FileAuditSink: AuditSink {
    let file: AuditLogFile
    public init(path: String) throws { file = try AuditLogFile(path: path) }
    public func write(_ event: AuditEvent) throws { try file.append(line: event.jsonLine()) }
}

/// The audit log on standard error (`audit.file: -`): under systemd, the journal.
public final class StandardErrorAuditSink: AuditSink {
    public init() {}
    public func write(_ event: AuditEvent) throws {
        StandardError.write(Array("audit: ".utf8) + event.jsonLine() + [0x0A])
    }
}
