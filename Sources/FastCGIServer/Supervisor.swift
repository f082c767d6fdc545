#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Starts N worker processes on one listening socket and keeps them running.
///
/// - Workers are started with posix_spawn of `/proc/self/exe` (not fork: a forked Swift
///   process can inherit dead Dispatch state), the socket dup2'ed onto fd 0, and an empty
///   signal mask (a blocked SIGTERM would otherwise be inherited).
/// - A worker that dies is restarted; one that keeps dying at once is restarted with back-off.
/// - SIGTERM/SIGINT: every worker gets SIGTERM, finishes its request in flight and exits.
///   Workers still alive after `stopTimeout` get SIGKILL.
/// - SIGHUP: `reload` is asked whether the new configuration is valid; if so, workers are
///   replaced one at a time, each new one started before the old one is told to stop, so the
///   socket always has accepting workers and no request is dropped.
///
/// Every decision is `SupervisorStateMachine`'s (restart, back-off, rolling replace, stop);
/// this class does the process I/O: signals, posix_spawn, kill, waitpid and the log.
public final class Supervisor {
    public struct Settings {
        public var workers: Int
        public var workerArguments: [String]
        public var listenFD: Int32
        public var stopTimeoutSeconds: Int = 30
        public init(workers: Int, workerArguments: [String], listenFD: Int32) {
            self.workers = workers
            self.workerArguments = workerArguments
            self.listenFD = listenFD
        }
    }

    private let settings: Settings
    private let logger: Logger
    /// Called on SIGHUP; returns the new worker count, or nil to keep the old workers.
    private let reload: () -> Int?
    /// Called about once a second while running (incremental garbage collection).
    private let tick: () -> Void

    /// Every decision: `run()` turns signals and exits into its events and carries out its actions.
    public private(set) var machine: SupervisorStateMachine
    public private(set) var restarts = 0
    /// Called after a worker died unexpectedly and a replacement is due (the metrics count it).
    public var onWorkerRestart: (() -> Void)?

    public init(settings: Settings, logger: Logger, reload: @escaping () -> Int?, tick: @escaping () -> Void) {
        self.settings = settings
        self.logger = logger
        self.reload = reload
        self.tick = tick
        var machineSettings = SupervisorStateMachine.Settings(workers: settings.workers)
        machineSettings.stopTimeout = Int64(settings.stopTimeoutSeconds) * 1000
        self.machine = SupervisorStateMachine(settings: machineSettings)
    }

    private static var handledSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&set, s) }
        return set
    }

    /// Monotonic milliseconds.
    private func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func run() -> Int32 {
        var set = Self.handledSignals
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        if let status = perform(machine.handle(.start, now: now())) { return status }

        while true {
            let wait = max(0, min(1000, machine.wakeAt - now()))
            var info = siginfo_t()
            var timeout = timespec(tv_sec: Int(wait / 1000), tv_nsec: Int(wait % 1000) * 1_000_000)
            var events: [SupervisorStateMachine.Event] = []
            switch sigtimedwait(&set, &info, &timeout) {
            case SIGTERM: events.append(.stopRequested(reason: "SIGTERM"))
            case SIGINT: events.append(.stopRequested(reason: "SIGINT"))
            case SIGHUP: events.append(.reloadRequested)
            case SIGCHLD: events += reapChildren()
            default: break
            }
            events.append(.tick)
            for event in events {
                if let status = perform(machine.handle(event, now: now())) { return status }
            }
        }
    }

    /// Carries out `actions` in order, feeding the answers the machine asks for back to it;
    /// returns the exit status once the machine has finished.
    private func perform(_ actions: [SupervisorStateMachine.Action]) -> Int32? {
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .spawn:
                let event: SupervisorStateMachine.Event = spawnWorker().map { .spawned(pid: $0) } ?? .spawnFailed
                queue += machine.handle(event, now: now())
            case .terminate(let pid):
                kill(pid, SIGTERM)
            case .kill(let pid):
                kill(pid, SIGKILL)
            case .awaitExit(let pid):
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            case .loadConfiguration:
                queue += machine.handle(.configurationLoaded(workers: reload()), now: now())
            case .housekeeping:
                tick()
            case .report(let report):
                log(report)
            case .finish(let status):
                return status
            }
        }
        return nil
    }

    private func log(_ report: SupervisorStateMachine.Report) {
        switch report {
        case .started(let count):
            logger.info("supervisor started", metadata: ["workers": "\(count)", "pid": "\(getpid())"])
        case .retired(let pid):
            logger.info("worker retired", metadata: ["pid": "\(pid)"])
        case .died(let pid, let how):
            logger.warning("worker died; restarting", metadata: ["pid": "\(pid)", "how": "\(how)"])
            restarts += 1
            onWorkerRestart?()
        case .crashLoop(let deaths):
            logger.error("workers keep dying; waiting before restarting", metadata: ["deaths_in_10s": "\(deaths)"])
        case .reloadRefused:
            logger.error("reload refused: the configuration is invalid; keeping the running workers")
        case .reloading(let count):
            logger.info("reloading: replacing workers one at a time", metadata: ["workers": "\(count)"])
        case .stopping(let reason):
            logger.info("stopping workers", metadata: ["reason": "\(reason)"])
        case .killedAfterTimeout(let count):
            logger.warning("workers did not stop in time; killed", metadata: ["count": "\(count)"])
        case .stopped:
            logger.info("stopped")
        }
    }

    private func spawnWorker() -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if settings.listenFD != 0 { posix_spawn_file_actions_adddup2(&actions, settings.listenFD, 0) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = Self.handledSignals
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ["devicegate"] + settings.workerArguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &cArgs, environ)
        guard rc == 0 else {
            logger.error("cannot start worker", metadata: ["error": "\(String(cString: strerror(rc)))"])
            return nil
        }
        return pid
    }

    /// Every child that has exited, as events.
    private func reapChildren() -> [SupervisorStateMachine.Event] {
        var events: [SupervisorStateMachine.Event] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            events.append(.exited(pid: pid, WorkerExit(waitStatus: status)))
        }
        return events
    }
}
