/// The supervisor's decisions as a value: which workers to start and stop, when a crash loop
/// slows restarts down, how a reload replaces workers one at a time, and how a stop ends.
///
/// It takes events (a worker started or exited, a tick, a reload or stop request) with the
/// time, and returns the actions `Supervisor` carries out. It does no I/O and reads no clock:
/// tests step time by hand. `now` is monotonic milliseconds, a reading of this process only.
///
/// The executor's contract: perform the actions in order; answer every `.spawn` at once with
/// `.spawned` or `.spawnFailed`, and `.loadConfiguration` with `.configurationLoaded`; after
/// the events of each wake-up send one `.tick`, and wake no later than `wakeAt`.
public struct SupervisorStateMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var workers: Int
        /// After a stop request, workers still alive this long are killed.
        public var stopTimeout: Int64 = 30_000
        /// A stopping worker may miss one SIGTERM (between its stop check and accept()): repeat.
        public var stopResend: Int64 = 100
        /// More than `2 × workers` deaths within `crashWindow` is a crash loop, in which each
        /// restart waits `backOff` after the previous one instead of burning the CPU. A
        /// `crashWindow` without deaths ends it.
        public var crashWindow: Int64 = 10_000
        public var backOff: Int64 = 1_000
        /// Housekeeping (garbage collection, census, checkpoint) runs about this often.
        public var housekeepingInterval: Int64 = 1_000
        public init(workers: Int) { self.workers = workers }
    }

    public enum Event: Equatable, Sendable {
        case start
        case spawned(pid: Int32)
        case spawnFailed
        case exited(pid: Int32, WorkerExit)
        case tick
        case reloadRequested
        /// The new worker count, or nil when the new configuration is invalid.
        case configurationLoaded(workers: Int?)
        case stopRequested(reason: String)
    }

    public enum Action: Equatable, Sendable {
        /// Start one worker and answer with `.spawned` or `.spawnFailed`.
        case spawn
        case terminate(pid: Int32)
        case kill(pid: Int32)
        /// Wait (blocking) until this killed worker is reaped.
        case awaitExit(pid: Int32)
        /// Read the configuration again and answer with `.configurationLoaded`.
        case loadConfiguration
        case housekeeping
        case report(Report)
        /// `run()` returns this status.
        case finish(status: Int32)
    }

    /// What the operator is told (the executor logs it).
    public enum Report: Equatable, Sendable {
        case started(workers: Int)
        case retired(pid: Int32)
        /// A worker died unexpectedly: counted as a restart.
        case died(pid: Int32, WorkerExit)
        case crashLoop(deathsInWindow: Int)
        case reloadRefused
        case reloading(workers: Int)
        case stopping(reason: String)
        case killedAfterTimeout(count: Int)
        case stopped
    }

    enum Phase: Equatable, Sendable {
        case running
        case stopping(deadline: Int64, nextTerminate: Int64)
        case finished
    }

    public private(set) var settings: Settings
    /// Live workers in start order, including those retiring.
    public private(set) var workers: [Int32] = []
    /// Told to stop, their replacement started.
    public private(set) var retiring: [Int32] = []
    /// Waiting for a rolling replace.
    public private(set) var toReplace: [Int32] = []
    /// Spawns asked for and not answered yet.
    private var spawning = 0
    /// When each restart held back by a crash loop is due, in order.
    public private(set) var delayedRestarts: [Int64] = []
    private var recentDeaths: [Int64] = []
    private var lastHousekeeping: Int64 = 0
    var phase: Phase = .running

    public init(settings: Settings) { self.settings = settings }

    public var isStopping: Bool { phase != .running }

    /// The latest time at which the executor must send a `.tick`.
    public var wakeAt: Int64 {
        switch phase {
        case .running:
            return min(lastHousekeeping + settings.housekeepingInterval, delayedRestarts.first ?? .max)
        case .stopping(let deadline, let nextTerminate):
            return min(deadline, nextTerminate)
        case .finished:
            return .max
        }
    }

    public mutating func handle(_ event: Event, now: Int64) -> [Action] {
        switch phase {
        case .running: return running(event, now: now)
        case .stopping(let deadline, let nextTerminate): return stopping(event, now: now, deadline: deadline, nextTerminate: nextTerminate)
        case .finished: return []
        }
    }

    /// Workers alive, being started, or held back by a crash loop.
    private var expected: Int { workers.count + spawning + delayedRestarts.count }

    private mutating func spawn(_ count: Int) -> [Action] {
        guard count > 0 else { return [] }
        spawning += count
        return Array(repeating: .spawn, count: count)
    }

    private mutating func running(_ event: Event, now: Int64) -> [Action] {
        switch event {
        case .start:
            lastHousekeeping = now
            return spawn(settings.workers) + [.report(.started(workers: settings.workers))]
        case .spawned(let pid):
            spawning -= 1
            workers.append(pid)
            return []
        case .spawnFailed:
            // Tried again at the next tick.
            spawning -= 1
            return []
        case .exited(let pid, let how):
            return exited(pid, how, now: now)
        case .tick:
            var actions: [Action] = []
            while let due = delayedRestarts.first, due <= now {
                delayedRestarts.removeFirst()
                actions += spawn(1)
            }
            actions += advanceRollingReplace()
            if now - lastHousekeeping >= settings.housekeepingInterval {
                lastHousekeeping = now
                actions.append(.housekeeping)
            }
            return actions
        case .reloadRequested:
            return [.loadConfiguration]
        case .configurationLoaded(nil):
            return [.report(.reloadRefused)]
        case .configurationLoaded(let count?):
            settings.workers = count
            toReplace = workers.filter { !retiring.contains($0) }
            return [.report(.reloading(workers: count))]
        case .stopRequested(let reason):
            phase = .stopping(deadline: now + settings.stopTimeout, nextTerminate: now + settings.stopResend)
            toReplace = []
            delayedRestarts = []
            if workers.isEmpty {
                phase = .finished
                return [.report(.stopping(reason: reason)), .report(.stopped), .finish(status: 0)]
            }
            return [.report(.stopping(reason: reason))] + workers.map { .terminate(pid: $0) }
        }
    }

    private mutating func exited(_ pid: Int32, _ how: WorkerExit, now: Int64) -> [Action] {
        guard let index = workers.firstIndex(of: pid) else { return [] }
        workers.remove(at: index)
        if let r = retiring.firstIndex(of: pid) {
            retiring.remove(at: r)
            return [.report(.retired(pid: pid))]
        }
        toReplace.removeAll { $0 == pid }
        var actions: [Action] = [.report(.died(pid: pid, how))]
        recentDeaths = recentDeaths.filter { now - $0 < settings.crashWindow } + [now]
        let crashLoop = recentDeaths.count > 2 * settings.workers
        if crashLoop { actions.append(.report(.crashLoop(deathsInWindow: recentDeaths.count))) }
        if expected < settings.workers {
            if crashLoop {
                delayedRestarts.append(max(now, delayedRestarts.last ?? now) + settings.backOff)
            } else {
                actions += spawn(1)
            }
        }
        return actions
    }

    /// One worker at a time: start its replacement, then ask it to stop; once none is left
    /// to replace, start workers up to the configured count.
    private mutating func advanceRollingReplace() -> [Action] {
        guard retiring.isEmpty else { return [] }
        guard !toReplace.isEmpty else { return spawn(settings.workers - expected) }
        let old = toReplace.removeFirst()
        var actions: [Action] = []
        if expected - retiring.count <= settings.workers { actions += spawn(1) }
        retiring.append(old)
        actions.append(.terminate(pid: old))
        return actions
    }

    private mutating func stopping(_ event: Event, now: Int64, deadline: Int64, nextTerminate: Int64) -> [Action] {
        switch event {
        case .exited(let pid, _):
            workers.removeAll { $0 == pid }
            return []
        case .spawned(let pid):
            spawning -= 1
            workers.append(pid)
            return [.terminate(pid: pid)]
        case .spawnFailed:
            spawning -= 1
            return []
        case .tick:
            if workers.isEmpty {
                phase = .finished
                return [.report(.stopped), .finish(status: 0)]
            }
            if now >= deadline {
                // Reaped before returning: whoever runs after `run()` knows no worker is left.
                let left = workers
                workers = []
                phase = .finished
                return left.map { .kill(pid: $0) } + [.report(.killedAfterTimeout(count: left.count))]
                    + left.map { .awaitExit(pid: $0) } + [.report(.stopped), .finish(status: 0)]
            }
            guard now >= nextTerminate else { return [] }
            phase = .stopping(deadline: deadline, nextTerminate: now + settings.stopResend)
            return workers.map { .terminate(pid: $0) }
        case .start, .reloadRequested, .configurationLoaded, .stopRequested:
            return []
        }
    }
}

/// How a worker ended, from a `waitpid` status.
public enum WorkerExit: Equatable, Sendable, CustomStringConvertible {
    case exited(status: Int32)
    case signaled(signal: Int32)

    public init(waitStatus status: Int32) {
        self = (status & 0x7F) == 0 ? .exited(status: (status >> 8) & 0xFF) : .signaled(signal: status & 0x7F)
    }

    public var description: String {
        switch self {
        case .exited(let status): return "exit status \(status)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }
}
