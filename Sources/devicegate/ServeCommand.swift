#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CSupport
import DeviceFlow
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

    /// I/O only: the decisions are `SupervisorStateMachine`'s (workers) and `Housekeeping`'s
    /// (the once-a-second tick and the stop checkpoint).
    func run() throws {
        let config = try options.load()
        let logger = makeLogger("devicegate.supervisor", level: config.server.logLevel, format: config.server.logFormat)
        let store = try options.openStore(config)
        // The supervisor counts worker restarts, and keeps the census of flows the metrics
        // report; opening the audit log here reports a bad audit.file before any worker starts.
        let telemetry = try makeTelemetry(config, store: store, logger: logger)
        recoverJournal(store, logger: logger)
        let census = config.operations.metricsEnabled
            ? try? CounterPage.claim(named: "census", in: store.directory, layout: MetricsLayout.censusID, count: MetricsLayout.censusCount)
            : nil
        try prepareSigningKeys(config)
        let listenFD = try bindListener(config)
        logger.info("listening", metadata: ["listen": "\(config.server.listen)", "issuer": "\(config.issuer)", "state_dir": "\(config.stateDirectory)"])

        let settings = Supervisor.Settings(
            workers: workers ?? config.server.workers,
            workerArguments: ["worker", "--config", absolutePath(options.path), "--supervisor-pid", "\(getpid())"],
            listenFD: listenFD)
        let housekeeper = Housekeeper(store: store, webStore: try options.openWebStore(store), telemetry: telemetry, census: census,
                                      retentionSeconds: config.lifetimes.expiredRetention, clock: SystemClock(), logger: logger)
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
        let store = try options.openStore(config)
        // Without `serve` (spawn-fcgi, systemd socket activation), each worker replays the
        // journal at start; the replay is idempotent and safe beside running workers.
        if supervisorPID == nil { recoverJournal(store, logger: logger) }
        let app = try makeApplication(config: config, store: store, logger: logger)
        app.telemetry = try makeTelemetry(config, store: store, logger: logger)
        let templates: PageTemplates
        do {
            templates = try PageTemplates(directory: config.web.templatesDirectory)
        } catch {
            printError("devicegate: \(error)")
            throw ExitCode(1)
        }
        let webStore = try options.openWebStore(store)
        app.handlers.append(VerificationPage(configuration: config, service: app.service, store: webStore,
                                             clock: SystemClock(), templates: templates, telemetry: app.telemetry))
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

/// Builds the application a worker serves: the OAuth endpoints, signed tokens, and the OIDC
/// and gateway endpoints.
func makeApplication(config: DeviceGateConfiguration, store: FileFlowStore, logger: Logger) throws -> DeviceGateApp {
    let keys = KeyRing(files: try KeyFiles(directory: config.keysDirectory),
                       maximumTokenLifetime: max(config.lifetimes.accessToken, config.tokens.idTokenLifetime))
    let issuer: any TokenIssuer
    switch config.tokens.format {
    case .jwt:
        issuer = SignedTokenIssuer(issuer: config.issuer, audience: config.tokens.audience ?? config.issuer,
                                   accessTokenLifetime: config.lifetimes.accessToken, idTokenLifetime: config.tokens.idTokenLifetime,
                                   keys: keys, users: config.users)
    case .opaque:
        issuer = OpaqueWithIDTokenIssuer(opaque: OpaqueTokenIssuer(accessTokenLifetime: config.lifetimes.accessToken),
                                         signed: SignedTokenIssuer(issuer: config.issuer, audience: config.tokens.audience ?? config.issuer,
                                                                   accessTokenLifetime: config.lifetimes.accessToken,
                                                                   idTokenLifetime: config.tokens.idTokenLifetime, keys: keys, users: config.users))
    }
    var service = FlowService(store: store, clients: config.clientRegistry, policy: config.flowPolicy, issuer: issuer,
                              refreshTokenLifetime: config.tokens.refreshTokenLifetime)
    service.admission = config.admission.policy
    service.admissionCounters = FileAdmissionCounters(directory: store.directory)
    let directory = store.directory
    service.reserve = StorageReserveGauge(reserve: config.admission.reserve, read: { directory.filesystemReading() })
    let app = DeviceGateApp(configuration: config, service: service, clock: SystemClock(), logger: logger)
    app.handlers.append(OIDCEndpoints(app: app, keys: keys, validator: AccessTokenValidator(issuer: config.issuer, audience: config.tokens.audience, keys: keys, store: store)))
    if config.operations.metricsEnabled {
        app.handlers.append(MetricsEndpoint(settings: config.operations, stateDirectory: store.directory))
    }
    return app
}
