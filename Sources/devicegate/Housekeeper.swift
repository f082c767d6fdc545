import DeviceFlow
import DirectoryStorage
import HostFiles
import Logging
import Observability

/// Carries out the supervisor's housekeeping ticks as `Housekeeping` plans them: the journal
/// checkpoint, the unknown-code audit lines, garbage collection of the planned shards (flows
/// and tokens, sessions and web counters, admission counters) and the census of flows. Only
/// I/O and the log are here; every decision is the plan's.
final class Housekeeper: HousekeepingExecutor {
    private var state: Housekeeping
    private let store: FileFlowStore
    private let webStore: FileWebStateStore
    private let admissionCounters: FileAdmissionCounters
    private let telemetry: Telemetry
    private let census: CounterPage?
    private let retentionSeconds: Int
    private let clock: any WallClock
    private let logger: Logger

    init(store: FileFlowStore, webStore: FileWebStateStore, telemetry: Telemetry, census: CounterPage?,
         retentionSeconds: Int, clock: any WallClock, logger: Logger) {
        self.state = Housekeeping(shardCount: StateDirectory.shardCount, keepsCensus: census != nil)
        self.store = store
        self.webStore = webStore
        self.admissionCounters = FileAdmissionCounters(directory: store.directory)
        self.telemetry = telemetry
        self.census = census
        self.retentionSeconds = retentionSeconds
        self.clock = clock
        self.logger = logger
    }

    /// One tick, about once a second (`Supervisor`'s `tick`).
    func tick() {
        var tick = state.tick(now: clock.now())
        if tick.checkpointJournal {
            do {
                let removed = try store.checkpointJournal(now: tick.now)
                if removed > 0 { logger.debug("journal checkpoint", metadata: ["logs_removed": "\(removed)"]) }
            } catch {
                state.checkpointFailed()
                logger.critical("journal checkpoint failed; journal logs are kept until a restart replays them", metadata: ["error": "\(error)"])
            }
        }
        if tick.flushUnknownCodes { telemetry.flushUnknownCodes(now: tick.now) }
        // Only the shards are paid from the budget: the checkpoint and the flush run every tick.
        let started = Telemetry.monotonicMicroseconds()
        while let shard = tick.nextShard(elapsedMicroseconds: Telemetry.monotonicMicroseconds() - started) {
            collect(shard: shard, now: tick.now, writeCensus: tick.writeCensus)
        }
        state.finished(tick, spentMicroseconds: Telemetry.monotonicMicroseconds() - started)
    }

    private func collect(shard: Int, now: UnixTime, writeCensus: Bool) {
        let report = store.collectGarbage(now: now, retentionSeconds: retentionSeconds, shards: [shard])
        let web = webStore.collectGarbage(now: now, shards: [shard])
        _ = admissionCounters.collectGarbage(now: now, shards: [shard])
        if writeCensus, let census {
            let counts = [report.census.pending, report.census.approved, report.census.denied, report.census.redeemed, report.census.expired]
            for (state, count) in counts.enumerated() { census[MetricsLayout.census(shard: shard, state: state)] = UInt64(count) }
        }
        if report.errors > 0 {
            // Something the collector could not read or rewrite (EIO, EACCES, an index over its
            // limit): it was left as it was, and is tried again on the shard's next pass.
            logger.warning("garbage collection left entries it could not read or rewrite", metadata: [
                "shard": "\(shard)", "errors": "\(report.errors)", "first": "\(report.errorMessages.joined(separator: "; "))",
            ])
        }
        if report.flows + report.tokens + report.codes + report.authorizationCodes + web.sessions + web.counters > 0 {
            logger.debug("garbage collected", metadata: [
                "shard": "\(shard)", "report": "\(report)", "sessions": "\(web.sessions)", "counters": "\(web.counters)",
            ])
        }
    }

    /// At a clean stop, once the workers are gone: write everything out and empty the journal,
    /// so that the next start has nothing to replay.
    func stop() {
        guard state.checkpointsAtStop else { return }
        do {
            let removed = try store.checkpointJournal(now: clock.now(), quiescent: true)
            logger.info("journal checkpointed at stop", metadata: ["logs_removed": "\(removed)"])
        } catch {
            logger.error("journal checkpoint at stop failed; the next start replays it", metadata: ["error": "\(error)"])
        }
    }
}
