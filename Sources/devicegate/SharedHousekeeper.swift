import DeviceFlow
import HostFiles
import Logging
import Observability
import PostgresStorage

/// What the supervisor calls once a second (`tick`) and once at a clean stop (`stop`).
protocol HousekeepingExecutor: AnyObject {
    func tick()
    func stop()
}

/// The supervisor's housekeeping on `storage.backend: postgresql`.
///
/// - Every tick: the unknown-code audit lines of the minute that ended (the tables are shared,
///   `takeDue` hands each line to exactly one host).
/// - Every `collectionIntervalSeconds`: garbage collection of flows, tokens, web state and
///   admission rows, on one host at a time. Hosts coordinate with a session advisory lock
///   (`pg_try_advisory_lock`, keyed by the schema, so installs side by side in one database do
///   not wait on each other); a host that does not get it skips the round. The lock only saves
///   duplicated work: collection removes only what has expired, so two hosts collecting at
///   once would still be correct (the storage contract's `ExpiredStateCollecting`). A lost
///   connection drops the lock with the session.
/// - The census of flows for the metrics (`status` counts), from whichever host runs it.
/// - No creation journal or checkpoint: the database is durable by itself.
final class SharedHousekeeper: HousekeepingExecutor {
    static let collectionIntervalSeconds: Int64 = 5
    /// First key of the advisory lock: "dg" "gc" in ASCII; the second is the schema's hash.
    static let tryLock = PostgresStatement("housekeeping_try_lock", "SELECT pg_try_advisory_lock(1684498275, hashtext(current_schema()))")
    static let unlock = PostgresStatement("housekeeping_unlock", "SELECT pg_advisory_unlock(1684498275, hashtext(current_schema()))")

    private let connection: PostgresConnection
    private let flows: PostgresFlowStore
    private let webState: PostgresWebStateStore
    private let admission: PostgresAdmissionCounters?
    private let telemetry: Telemetry
    private let census: CounterPage?
    private let retentionSeconds: Int
    private let clock: any WallClock
    private let logger: Logger
    private let describe: (any Error) -> String
    private var nextCollection: Int64 = 0

    init(connection: PostgresConnection, flows: PostgresFlowStore, webState: PostgresWebStateStore, admission: PostgresAdmissionCounters?,
         telemetry: Telemetry, census: CounterPage?, retentionSeconds: Int, clock: any WallClock, logger: Logger,
         describe: @escaping (any Error) -> String) {
        self.connection = connection
        self.flows = flows
        self.webState = webState
        self.admission = admission
        self.telemetry = telemetry
        self.census = census
        self.retentionSeconds = retentionSeconds
        self.clock = clock
        self.logger = logger
        self.describe = describe
    }

    func tick() {
        let now = clock.now()
        telemetry.flushUnknownCodes(now: now)
        guard now.seconds >= nextCollection else { return }
        nextCollection = now.seconds + Self.collectionIntervalSeconds
        do {
            if try connection.execute(Self.tryLock).first?[0] == "t" {
                defer { _ = try? connection.execute(Self.unlock) }
                let report = Self.collect(flows: flows, webState: webState, admission: admission, now: now, retentionSeconds: retentionSeconds)
                if report.total > 0 { logger.debug("garbage collected", metadata: ["report": "\(report)"]) }
            }
            if let census {
                let s = try flows.summary(now: now)
                let counts = [s.pendingFlows, s.approvedFlows, s.deniedFlows, s.redeemedFlows, s.expiredFlows]
                for (state, count) in counts.enumerated() { census[MetricsLayout.census(shard: 0, state: state)] = UInt64(count) }
            }
        } catch {
            logger.warning("housekeeping skipped: the database did not answer", metadata: ["error": "\(describe(error))"])
        }
    }

    /// Nothing to write out: every change is committed when it is made.
    func stop() {}

    struct Report: CustomStringConvertible {
        var flowsAndTokens = 0, sessions = 0, counters = 0, admission = 0
        var total: Int { flowsAndTokens + sessions + counters + admission }
        var description: String {
            "\(flowsAndTokens) flows, claims, tokens and revocations; \(sessions) sessions, \(counters) counters, \(admission) admission rows"
        }
    }

    /// One collection of everything that has expired: also what `devicegate gc` runs.
    static func collect(flows: PostgresFlowStore, webState: PostgresWebStateStore, admission: PostgresAdmissionCounters?,
                        now: UnixTime, retentionSeconds: Int) -> Report {
        var report = Report()
        report.flowsAndTokens = flows.collectExpired(now: now, retentionSeconds: retentionSeconds)
        (report.sessions, report.counters) = webState.collectExpiredWebState(now: now)
        // The admission rows (they expire with the flows they count).
        report.admission = admission?.collectExpired(now: now) ?? 0
        return report
    }
}
