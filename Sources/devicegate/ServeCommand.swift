#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CSupport
import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateWeb
import FastCGIServer
import FlowStore
import Logging
import Operations
import TokenSigning

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Bind the FastCGI socket and run the worker processes.",
        discussion: """
        Binds server.listen (a unix socket path or 127.0.0.1:PORT) and starts server.workers \
        processes that accept on it as fd 0. With --inherit-socket (or listen: fd:0) the socket \
        already on fd 0 is used, as under systemd socket activation. SIGTERM stops gracefully; \
        SIGHUP re-reads the configuration and replaces workers one at a time.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Number of worker processes (overrides server.workers).") var workers: Int?
    @Flag(help: "Use the listening socket already on fd 0.") var inheritSocket = false

    func validate() throws {
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be between 1 and 256") }
    }

    func run() throws {
        let config = try options.load()
        let logger = makeLogger("devicegate.supervisor", level: config.server.logLevel, format: config.server.logFormat)
        let store = try options.openStore(config)
        // The supervisor counts worker restarts, and keeps the census of flows the metrics
        // report; opening the audit log here reports a bad audit.file before any worker starts.
        let telemetry = try makeTelemetry(config, store: store, logger: logger)
        recoverJournal(store, logger: logger)
        var census: CounterPage?
        if config.operations.metricsEnabled {
            census = try? CounterPage.claim(named: "census", in: store.directory, layout: MetricsLayout.censusID, count: MetricsLayout.censusCount)
        }
        do {
            try KeyRing.ensureKey(files: KeyFiles(directory: config.keysDirectory),
                                  algorithm: SigningKey.Algorithm(rawValue: config.tokens.signingAlgorithm) ?? .rs256, now: SystemClock().now())
        } catch {
            printError("devicegate: cannot prepare signing keys in \(config.keysDirectory): \(error)")
            throw ExitCode(1)
        }

        let listenFD: Int32
        if inheritSocket || config.server.listen == .inherited {
            guard FastCGIWorker.standardInputIsListeningSocket() else {
                printError("devicegate: --inherit-socket given but fd 0 is not a listening socket")
                throw ExitCode(1)
            }
            if let refusal = (PeerAllowList(config.server.allowRemoteFastCGI) ?? PeerAllowList([])!).refusal(forListener: 0) {
                printError("devicegate: \(refusal)")
                throw ExitCode(1)
            }
            listenFD = 0
        } else {
            do {
                switch config.server.listen {
                case .unix(let path): listenFD = try ListeningSocket.unix(path: path, mode: mode_t(config.server.socketMode))
                case .tcp(let host, let port): listenFD = try ListeningSocket.tcp(host: host, port: port)
                case .inherited: listenFD = 0
                }
            } catch {
                printError("devicegate: cannot listen on \(config.server.listen): \(error)")
                throw ExitCode(1)
            }
        }
        logger.info("listening", metadata: ["listen": "\(config.server.listen)", "issuer": "\(config.issuer)", "state_dir": "\(config.stateDirectory)"])

        let configPath = absolutePath(options.path)
        var settings = Supervisor.Settings(
            workers: workers ?? config.server.workers,
            workerArguments: ["worker", "--config", configPath, "--supervisor-pid", "\(getpid())"],
            listenFD: listenFD)
        settings.stopTimeoutSeconds = 30
        let fixedWorkers = workers
        var shard = 0
        var checkpointFailed = false
        let clock = SystemClock()
        let retention = config.lifetimes.expiredRetention
        let webStore = try options.openWebStore(store)
        let admissionCounters = FileAdmissionCounters(directory: store.directory)
        census?[MetricsLayout.censusWorkers] = UInt64(settings.workers)
        let supervisor = Supervisor(settings: settings, logger: logger, reload: {
            switch options.loadResult() {
            case .success(let newConfig):
                if newConfig.server.listen != config.server.listen || newConfig.stateDirectory != config.stateDirectory {
                    logger.warning("server.listen and state_dir changes take effect only on restart")
                }
                let count = fixedWorkers ?? newConfig.server.workers
                census?[MetricsLayout.censusWorkers] = UInt64(count)
                return count
            case .failure(let failure):
                logger.error("configuration invalid", metadata: ["issues": "\(failure.message)"])
                return nil
            }
        }, tick: {
            // Incremental garbage collection and the census of flows, shard after shard for at
            // most 20 ms a second (at least one shard): a small state directory is swept every
            // second, and a million flows cost the supervisor a bounded share of one core.
            let deadline = Telemetry.monotonicMicroseconds() + 20_000
            // The creation journal's checkpoint: a syncfs once a minute, when a log closes.
            // After a failed syncfs the kernel may report the next one as a success without
            // having written the same pages: no log is removed again until a restart replays.
            if !checkpointFailed {
                do {
                    let removed = try store.checkpointJournal(now: clock.now())
                    if removed > 0 { logger.debug("journal checkpoint", metadata: ["logs_removed": "\(removed)"]) }
                } catch {
                    checkpointFailed = true
                    logger.critical("journal checkpoint failed; journal logs are kept until a restart replays them", metadata: ["error": "\(error)"])
                }
            }
            // Unknown device codes of the minute that just ended: one audit line per address.
            telemetry.flushUnknownCodes(now: clock.now())
            var visited = 0
            repeat {
                let report = store.collectGarbage(now: clock.now(), retentionSeconds: retention, shards: [shard])
                let web = webStore.collectGarbage(now: clock.now(), shards: [shard])
                _ = admissionCounters.collectGarbage(now: clock.now(), shards: [shard])
                if let census {
                    let counts = [report.census.pending, report.census.approved, report.census.denied, report.census.redeemed, report.census.expired]
                    for (state, count) in counts.enumerated() { census[MetricsLayout.census(shard: shard, state: state)] = UInt64(count) }
                }
                if report.flows + report.tokens + report.codes + web.sessions + web.counters > 0 {
                    logger.debug("garbage collected", metadata: [
                        "shard": "\(shard)", "report": "\(report)", "sessions": "\(web.sessions)", "counters": "\(web.counters)",
                    ])
                }
                shard = (shard + 1) % StateDirectory.shardCount
                visited += 1
            } while visited < StateDirectory.shardCount && Telemetry.monotonicMicroseconds() < deadline
        })
        supervisor.onWorkerRestart = { telemetry.countWorkerRestart() }
        let status = supervisor.run()
        // The workers are gone: write everything out and empty the journal, so that the next
        // start has nothing to replay.
        if !checkpointFailed {
            do {
                let removed = try store.checkpointJournal(now: clock.now(), quiescent: true)
                logger.info("journal checkpointed at stop", metadata: ["logs_removed": "\(removed)"])
            } catch {
                logger.error("journal checkpoint at stop failed; the next start replays it", metadata: ["error": "\(error)"])
            }
        }
        if case .unix(let path) = config.server.listen, listenFD != 0 { unlink(path) }
        throw ExitCode(status)
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one FastCGI worker on the listening socket at fd 0 (spawn-fcgi, systemd, or serve).")

    @OptionGroup var options: ConfigOptions
    @Option(help: .hidden) var supervisorPID: Int32?

    func run() throws {
        if let parent = supervisorPID {
            // Stop with the supervisor, even if it is SIGKILLed.
            _ = dg_set_parent_death_signal(SIGTERM)
            if getppid() != parent { throw ExitCode(0) }
        }
        let config = try options.load()
        var logger = makeLogger("devicegate.worker", level: config.server.logLevel, format: config.server.logFormat)
        logger[metadataKey: "pid"] = "\(getpid())"
        guard FastCGIWorker.standardInputIsListeningSocket() else {
            printError("devicegate worker: fd 0 is not a listening socket; run it under `devicegate serve`, spawn-fcgi or a systemd .socket unit")
            throw ExitCode(1)
        }
        let peers = PeerAllowList(config.server.allowRemoteFastCGI) ?? PeerAllowList([])!
        if let refusal = peers.refusal(forListener: 0) {
            printError("devicegate worker: \(refusal)")
            throw ExitCode(1)
        }
        let store = try options.openStore(config)
        // Without `serve` (spawn-fcgi, systemd socket activation), each worker replays the
        // journal at start; the replay is idempotent and safe beside running workers.
        if supervisorPID == nil { recoverJournal(store, logger: logger) }
        let app = try makeApplication(config: config, options: options, store: store, logger: logger)
        // The loader has checked every address: a nil above cannot happen, and loopback-only is the safe reading.
        let policy = FastCGIWorker.ConnectionPolicy(readTimeoutSeconds: config.server.requestReadTimeout, peers: peers)
        let worker = FastCGIWorker(maxBodyBytes: config.server.maxBodyBytes, policy: policy, logger: logger, handler: app.handle)
        let status = worker.run()
        app.telemetry.drainUnknownCodes()
        throw ExitCode(status)
    }
}

/// Replays the creation journal after a crash (`FileFlowStore.recoverJournal`) before anything
/// is served; a journal that cannot be replayed stops the start with exit 1.
func recoverJournal(_ store: FileFlowStore, logger: Logger) {
    do {
        let recovery = try store.recoverJournal(now: SystemClock().now())
        let metadata: Logger.Metadata = ["recovery": "\(recovery)"]
        if recovery.restoredRecords + recovery.restoredClaims > 0 {
            logger.warning("journal replayed: flows restored after a crash", metadata: metadata)
        } else {
            logger.debug("journal replayed", metadata: metadata)
        }
    } catch {
        printError("devicegate: cannot replay the creation journal in \(store.directory.root)/journal: \(error)")
        exit(1)
    }
}

/// The application a worker serves (`DeviceGateApp.assemble`) over its state directory, with
/// its telemetry; a problem with the key directory, the audit log or the templates stops the
/// start, named.
func makeApplication(config: DeviceGateConfiguration, options: ConfigOptions, store: FileFlowStore, logger: Logger) throws -> DeviceGateApp {
    let keys = try KeyFiles(directory: config.keysDirectory)
    let telemetry = try makeTelemetry(config, store: store, logger: logger)
    let storage = ApplicationStorage.stateDirectory(flows: store, webState: try options.openWebStore(store), keys: keys)
    do {
        return try DeviceGateApp.assemble(configuration: config, storage: storage, clock: SystemClock(), telemetry: telemetry, logger: logger)
    } catch {
        printError("devicegate: \(error)")
        throw ExitCode(1)
    }
}
