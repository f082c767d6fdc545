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
import DirectoryStorage
import PostgresStorage
import HostFiles
import Logging
import Observability
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

    /// I/O only: the decisions are `SupervisorStateMachine`'s (workers) and `Housekeeping`'s
    /// (the once-a-second tick and the stop checkpoint).
    func run() throws {
        let config = try options.load()
        let logger = makeLogger("devicegate.supervisor", level: config.server.logLevel, format: config.server.logFormat)
        // On PostgreSQL: refuses, in one line, a database that is unreachable, refuses the
        // credentials, or holds a schema other than this binary's.
        let storage = try options.openStorage(config)
        // The supervisor counts worker restarts, and keeps the census of flows the metrics
        // report; opening the audit log here reports a bad audit.file before any worker starts.
        let telemetry = try makeTelemetry(config, storage: storage, logger: logger)
        if case .directory(let store, _) = storage.backend { recoverJournal(store, logger: logger) }
        let census = config.operations.metricsEnabled
            ? try? CounterPage.claim(named: "census", in: storage.host.root, layout: MetricsLayout.censusID, count: MetricsLayout.censusCount)
            : nil
        try prepareSigningKeys(config, storage: storage)
        let listenFD = try bindListener(config)
        logger.info("listening", metadata: ["listen": "\(config.server.listen)", "issuer": "\(config.issuer)", "state_dir": "\(config.stateDirectory)",
                                            "storage": "\(config.storage.backend == .postgresql ? config.redactedStorageURL : "directory")"])

        let settings = Supervisor.Settings(
            workers: workers ?? config.server.workers,
            workerArguments: ["worker", "--config", absolutePath(options.path), "--supervisor-pid", "\(getpid())"],
            listenFD: listenFD)
        let housekeeper: any HousekeepingExecutor
        switch storage.backend {
        case .directory(let store, let web):
            housekeeper = Housekeeper(store: store, webStore: web, telemetry: telemetry, census: census,
                                      retentionSeconds: config.lifetimes.expiredRetention, clock: SystemClock(), logger: logger)
        case .postgresql(let connection, let flows, let web):
            housekeeper = SharedHousekeeper(connection: connection, flows: flows, webState: web, admission: storage.application.admissionCounters as? PostgresAdmissionCounters,
                                            telemetry: telemetry, census: census, retentionSeconds: config.lifetimes.expiredRetention,
                                            clock: SystemClock(), logger: logger, describe: config.describe)
        }
        census?[MetricsLayout.censusWorkers] = UInt64(settings.workers)
        let supervisor = Supervisor(settings: settings, logger: logger, reload: {
            let count = reloadedWorkerCount(running: config, logger: logger)
            if let count { census?[MetricsLayout.censusWorkers] = UInt64(count) }
            return count
        }, tick: housekeeper.tick)
        supervisor.onWorkerRestart = { telemetry.countWorkerRestart() }
        let status = supervisor.run()
        // The workers are gone.
        housekeeper.stop()
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
        // This process's own stores: on PostgreSQL its own connection, opened here after the
        // exec, never inherited from the supervisor. A worker (re)started while the database
        // is away waits for it rather than exiting into the supervisor's crash-loop back-off;
        // `serve` has already refused a database it could not use at all.
        if config.storage.backend == .postgresql { waitForDatabase(config, logger: logger) }
        let storage = try options.openStorage(config)
        // Without `serve` (spawn-fcgi, systemd socket activation), each worker replays the
        // journal at start; the replay is idempotent and safe beside running workers.
        if supervisorPID == nil, case .directory(let store, _) = storage.backend { recoverJournal(store, logger: logger) }
        let app = try makeApplication(config: config, storage: storage, logger: logger)
        // The loader has checked every address: a nil above cannot happen, and loopback-only is the safe reading.
        let policy = FastCGIWorker.ConnectionPolicy(readTimeoutSeconds: config.server.requestReadTimeout, peers: peers)
        let worker = FastCGIWorker(maxBodyBytes: config.server.maxBodyBytes, policy: policy, logger: logger, handler: app.handle)
        let status = worker.run()
        app.telemetry.drainUnknownCodes()
        throw ExitCode(status)
    }
}

/// Returns once `storage.url` answers (or answers with a refusal that `openStorage` will
/// report), polling every 250 ms; logs the first failure only.
func waitForDatabase(_ config: DeviceGateConfiguration, logger: Logger) {
    let connection = PostgresConnection(settings: config.postgresSettings)
    var logged = false
    while true {
        guard case .unreachable(let message) = DatabaseReadiness.check(connection) else { return }
        if !logged {
            logger.warning("waiting for PostgreSQL", metadata: ["storage.url": "\(config.redactedStorageURL)",
                                                                "error": "\(ConnectionStringRedaction.scrub(message, of: config.storage.url))"])
            logged = true
        }
        usleep(250_000)
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

/// The application a worker serves (`DeviceGateApp.assemble`) over the configured backend,
/// with its telemetry; a problem with the audit log or the templates stops the start, named.
func makeApplication(config: DeviceGateConfiguration, storage: OpenedStorage, logger: Logger) throws -> DeviceGateApp {
    let telemetry = try makeTelemetry(config, storage: storage, logger: logger)
    do {
        return try DeviceGateApp.assemble(configuration: config, storage: storage.application, clock: SystemClock(), telemetry: telemetry, logger: logger)
    } catch {
        printError("devicegate: \(error)")
        throw ExitCode(1)
    }
}
