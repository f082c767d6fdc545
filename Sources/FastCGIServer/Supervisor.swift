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

    private var settings: Settings
    private let logger: Logger
    /// Called on SIGHUP; returns the new worker count, or nil to keep the old workers.
    private let reload: () -> Int?
    /// Called about once a second while idle (incremental garbage collection).
    private let tick: () -> Void

    private var workers: [pid_t: Int64] = [:]            // pid -> start time (s)
    private var retiring: Set<pid_t> = []                // told to stop, replacement started
    private var toReplace: [pid_t] = []                  // waiting for a rolling replace
    private var recentDeaths: [Int64] = []
    public private(set) var restarts = 0
    /// Called after a worker died unexpectedly and a replacement is due (the metrics count it).
    public var onWorkerRestart: (() -> Void)?

    public init(settings: Settings, logger: Logger, reload: @escaping () -> Int?, tick: @escaping () -> Void) {
        self.settings = settings
        self.logger = logger
        self.reload = reload
        self.tick = tick
    }

    private static var handledSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&set, s) }
        return set
    }

    private func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec)
    }

    public func run() -> Int32 {
        var set = Self.handledSignals
        sigprocmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        for _ in 0..<settings.workers { _ = spawnWorker() }
        logger.info("supervisor started", metadata: ["workers": "\(settings.workers)", "pid": "\(getpid())"])

        var lastTick = now()
        while true {
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 1, tv_nsec: 0)
            let signo = sigtimedwait(&set, &info, &timeout)
            switch signo {
            case SIGTERM, SIGINT:
                return stopAll(reason: signo == SIGTERM ? "SIGTERM" : "SIGINT")
            case SIGHUP:
                beginReload()
            case SIGCHLD:
                reapChildren()
            default:
                break
            }
            advanceRollingReplace()
            if now() - lastTick >= 1 {
                lastTick = now()
                tick()
            }
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
        workers[pid] = now()
        return pid
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            guard workers.removeValue(forKey: pid) != nil else { continue }
            if retiring.remove(pid) != nil {
                logger.info("worker retired", metadata: ["pid": "\(pid)"])
                continue
            }
            toReplace.removeAll { $0 == pid }
            let how = (status & 0x7F) == 0 ? "exit status \((status >> 8) & 0xFF)" : "signal \(status & 0x7F)"
            logger.warning("worker died; restarting", metadata: ["pid": "\(pid)", "how": "\(how)"])
            restarts += 1
            onWorkerRestart?()
            let t = now()
            recentDeaths = recentDeaths.filter { t - $0 < 10 } + [t]
            if recentDeaths.count > 2 * settings.workers {
                // Crash loop: back off instead of burning the CPU.
                logger.error("workers keep dying; waiting before restarting", metadata: ["deaths_in_10s": "\(recentDeaths.count)"])
                sleep(1)
            }
            if workers.count < settings.workers { _ = spawnWorker() }
        }
    }

    private func beginReload() {
        guard let count = reload() else {
            logger.error("reload refused: the configuration is invalid; keeping the running workers")
            return
        }
        logger.info("reloading: replacing workers one at a time", metadata: ["workers": "\(count)"])
        settings.workers = count
        toReplace = Array(workers.keys).filter { !retiring.contains($0) }
    }

    /// One worker at a time: start its replacement, then ask it to stop.
    private func advanceRollingReplace() {
        guard retiring.isEmpty else { return }
        guard let old = toReplace.first else {
            while workers.count < settings.workers { if spawnWorker() == nil { break } }
            return
        }
        toReplace.removeFirst()
        let live = workers.count - retiring.count
        if live <= settings.workers { _ = spawnWorker() }
        retiring.insert(old)
        kill(old, SIGTERM)
    }

    private func stopAll(reason: String) -> Int32 {
        logger.info("stopping workers", metadata: ["reason": "\(reason)"])
        let deadline = now() + Int64(settings.stopTimeoutSeconds)
        while !workers.isEmpty {
            // Repeat SIGTERM: a worker that was between its stop check and accept() misses one.
            for pid in workers.keys { kill(pid, SIGTERM) }
            usleep(100_000)
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                if pid <= 0 { break }
                workers.removeValue(forKey: pid)
            }
            if now() >= deadline {
                for pid in workers.keys { kill(pid, SIGKILL) }
                logger.warning("workers did not stop in time; killed", metadata: ["count": "\(workers.count)"])
                // Reaped before returning: whoever runs after `run()` knows no worker is left.
                for pid in workers.keys {
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                }
                workers.removeAll()
                break
            }
        }
        logger.info("stopped")
        return 0
    }
}
