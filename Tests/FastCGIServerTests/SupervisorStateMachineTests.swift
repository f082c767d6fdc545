import DeviceGateTesting
import FastCGIServer
import Testing

/// The supervisor's decisions (issue 11, item 6): restart, crash-loop back-off, rolling
/// replace and stop, stepped on a manual clock with pids handed out by a fake process table.
@Suite struct SupervisorStateMachineTests {
    typealias Machine = SupervisorStateMachine
    typealias Action = SupervisorStateMachine.Action

    /// Plays the executor: answers spawns with fresh pids (or failures) and reloads with
    /// `reloadAnswer`, and records every action in order.
    final class Harness {
        var machine: Machine
        let clock = ManualClock()
        var nextPID: Int32 = 100
        var failingSpawns = 0
        var reloadAnswer: Int?
        var started: [Int32] = []

        init(workers: Int) {
            machine = Machine(settings: .init(workers: workers))
            _ = send(.start)
        }

        var now: Int64 { clock.now().milliseconds }

        @discardableResult
        func send(_ event: Machine.Event) -> [Action] {
            var performed: [Action] = []
            var queue = machine.handle(event, now: now)[...]
            while let action = queue.popFirst() {
                performed.append(action)
                switch action {
                case .spawn:
                    if failingSpawns > 0 {
                        failingSpawns -= 1
                        queue += machine.handle(.spawnFailed, now: now)
                    } else {
                        nextPID += 1
                        started.append(nextPID)
                        queue += machine.handle(.spawned(pid: nextPID), now: now)
                    }
                case .loadConfiguration:
                    queue += machine.handle(.configurationLoaded(workers: reloadAnswer), now: now)
                default:
                    break
                }
            }
            return performed
        }

        /// A worker dies (SIGKILL), then the executor's tick of the same wake-up.
        @discardableResult
        func kill(_ pid: Int32) -> [Action] {
            send(.exited(pid: pid, .signaled(signal: 9))) + send(.tick)
        }

        func advance(_ milliseconds: Int64) { clock.advance(milliseconds: milliseconds) }

        /// The oldest live worker (a failure, not a crash, when there is none).
        var oldest: Int32 {
            guard let pid = machine.workers.first else {
                Issue.record("no live worker")
                return -1
            }
            return pid
        }
    }

    static func spawns(_ actions: [Action]) -> Int { actions.filter { $0 == .spawn }.count }

    @Test func startSpawnsEveryWorkerThenReports() {
        let h = Harness(workers: 3)
        #expect(h.machine.workers == [101, 102, 103])
        #expect(h.machine.wakeAt == h.now + 1000)
    }

    @Test func housekeepingRunsOnceASecond() {
        let h = Harness(workers: 1)
        h.advance(999)
        #expect(h.send(.tick) == [])
        h.advance(1)
        #expect(h.send(.tick) == [.housekeeping])
        #expect(h.send(.tick) == [])
        #expect(h.machine.wakeAt == h.now + 1000)
    }

    @Test func aDeadWorkerIsRestartedAtOnce() {
        let h = Harness(workers: 3)
        let actions = h.send(.exited(pid: 102, .exited(status: 1)))
        #expect(actions == [.report(.died(pid: 102, .exited(status: 1))), .spawn])
        #expect(h.machine.workers == [101, 103, 104])
        #expect(h.send(.tick) == [], "the restart is not doubled by the fill-up")
    }

    @Test func anUnknownChildIsIgnored() {
        let h = Harness(workers: 2)
        #expect(h.send(.exited(pid: 7, .exited(status: 0))) == [])
        #expect(h.machine.workers == [101, 102])
    }

    /// A crash loop: more than 2 × workers deaths within 10 s. Each restart then waits 1 s
    /// after the previous one.
    @Test func crashLoopBacksOffOneRestartASecond() {
        let h = Harness(workers: 2)
        // Four deaths within 10 s (= 2 × workers) are restarted at once.
        for _ in 0..<4 {
            h.advance(100)
            let actions = h.kill(h.oldest)
            #expect(Self.spawns(actions) == 1)
            #expect(!actions.contains { if case .report(.crashLoop) = $0 { true } else { false } })
        }
        // The fifth is a crash loop: reported, restarted only after 1 s.
        h.advance(100)
        let fifth = h.kill(h.oldest)
        #expect(fifth.contains(.report(.crashLoop(deathsInWindow: 5))))
        #expect(Self.spawns(fifth) == 0)
        #expect(h.machine.workers.count == 1)
        #expect(h.machine.delayedRestarts == [h.now + 1000])
        #expect(h.machine.wakeAt <= h.now + 1000, "woken in time for the held-back restart")
        // The sixth, at the same moment, waits one more second: one restart a second.
        let sixth = h.kill(h.oldest)
        #expect(sixth.contains(.report(.crashLoop(deathsInWindow: 6))))
        #expect(h.machine.workers.isEmpty)
        #expect(h.machine.delayedRestarts == [h.now + 1000, h.now + 2000])
        h.advance(999)
        #expect(Self.spawns(h.send(.tick)) == 0)
        h.advance(1)
        #expect(Self.spawns(h.send(.tick)) == 1)
        h.advance(999)
        #expect(Self.spawns(h.send(.tick)) == 0)
        h.advance(1)
        #expect(Self.spawns(h.send(.tick)) == 1)
        #expect(h.machine.workers.count == 2)
        #expect(h.machine.delayedRestarts.isEmpty)
    }

    @Test func crashLoopEndsAfterTenQuietSeconds() {
        let h = Harness(workers: 1)
        // Deaths at 0 and 1 s are restarted at once; the third at 9.999 s is one too many.
        h.kill(h.oldest)
        h.advance(1000)
        h.kill(h.oldest)
        h.advance(8_999)
        #expect(Self.spawns(h.kill(h.oldest)) == 0)
        h.advance(1000)
        #expect(Self.spawns(h.send(.tick)) == 1)
        // Ten seconds after the last death, a death is restarted at once again.
        h.advance(9000)
        let actions = h.kill(h.oldest)
        #expect(Self.spawns(actions) == 1)
        #expect(!actions.contains { if case .report(.crashLoop) = $0 { true } else { false } })
    }

    /// (time of the third death with one worker, after deaths at 0 and 1 s; held back?)
    @Test(arguments: [(Int64(1_000), true), (9_999, true), (10_000, false), (15_000, false)])
    func crashWindowIsTenSeconds(_ third: Int64, _ heldBack: Bool) {
        let h = Harness(workers: 1)
        h.kill(h.oldest)
        h.advance(1000)
        h.kill(h.oldest)
        h.advance(third - 1000)
        let actions = h.kill(h.oldest)
        #expect(Self.spawns(actions) == (heldBack ? 0 : 1))
        #expect(actions.contains(.report(.crashLoop(deathsInWindow: 3))) == heldBack)
    }

    @Test func aFailedSpawnIsRetriedAtTheNextTick() {
        let h = Harness(workers: 2)
        h.failingSpawns = 1
        #expect(h.send(.exited(pid: 101, .signaled(signal: 9))) == [.report(.died(pid: 101, .signaled(signal: 9))), .spawn])
        #expect(h.machine.workers == [102])
        #expect(h.send(.tick) == [.spawn])
        #expect(h.machine.workers == [102, 103])
    }

    @Test func invalidReloadKeepsTheWorkers() {
        let h = Harness(workers: 3)
        h.reloadAnswer = nil
        #expect(h.send(.reloadRequested) == [.loadConfiguration, .report(.reloadRefused)])
        #expect(h.send(.tick) == [])
        #expect(h.machine.workers == [101, 102, 103])
    }

    /// 3 → 2 workers: each step starts the replacement (while the count allows) before the old
    /// worker is told to stop, and the next step waits until the old one has exited.
    @Test func reloadReplacesWorkersOneAtATimeDown() {
        let h = Harness(workers: 3)
        h.reloadAnswer = 2
        #expect(h.send(.reloadRequested) == [.loadConfiguration, .report(.reloading(workers: 2))])
        #expect(h.send(.tick) == [.terminate(pid: 101)], "three live, two wanted: no replacement yet")
        #expect(h.send(.tick) == [], "waits for the retiring worker")
        #expect(h.send(.exited(pid: 101, .exited(status: 0))) == [.report(.retired(pid: 101))])
        #expect(h.send(.tick) == [.spawn, .terminate(pid: 102)])
        h.send(.exited(pid: 102, .exited(status: 0)))
        #expect(h.send(.tick) == [.spawn, .terminate(pid: 103)])
        h.send(.exited(pid: 103, .exited(status: 0)))
        #expect(h.send(.tick) == [])
        #expect(h.machine.workers == [104, 105])
        #expect(h.machine.retiring.isEmpty && h.machine.toReplace.isEmpty)
    }

    @Test func reloadReplacesWorkersOneAtATimeUp() {
        let h = Harness(workers: 2)
        h.reloadAnswer = 3
        h.send(.reloadRequested)
        #expect(h.send(.tick) == [.spawn, .terminate(pid: 101)])
        h.send(.exited(pid: 101, .exited(status: 0)))
        #expect(h.send(.tick) == [.spawn, .terminate(pid: 102)])
        h.send(.exited(pid: 102, .exited(status: 0)))
        #expect(h.send(.tick) == [.spawn], "then up to the new count")
        #expect(h.machine.workers == [103, 104, 105])
    }

    @Test func aWorkerDyingWhileAwaitingReplacementIsRestartedNotReplaced() {
        let h = Harness(workers: 2)
        h.reloadAnswer = 2
        h.send(.reloadRequested)
        #expect(h.send(.tick) == [.spawn, .terminate(pid: 101)])
        // 102 waits for its turn and dies: restarted only if the count falls short (it does not:
        // 101 is still alive, retiring), and no longer in the replace list.
        #expect(h.send(.exited(pid: 102, .signaled(signal: 11))) == [.report(.died(pid: 102, .signaled(signal: 11)))])
        #expect(h.machine.toReplace.isEmpty)
        h.send(.exited(pid: 101, .exited(status: 0)))
        #expect(h.send(.tick) == [.spawn])
        #expect(h.machine.workers == [103, 104])
    }

    @Test func stopTerminatesRepeatsAndFinishesWhenAllHaveExited() {
        let h = Harness(workers: 2)
        #expect(h.send(.stopRequested(reason: "SIGTERM"))
            == [.report(.stopping(reason: "SIGTERM")), .terminate(pid: 101), .terminate(pid: 102)])
        #expect(h.machine.isStopping)
        h.reloadAnswer = 5
        #expect(h.send(.reloadRequested) == [], "no reload while stopping")
        #expect(h.send(.stopRequested(reason: "SIGINT")) == [])
        #expect(h.send(.exited(pid: 101, .exited(status: 0))) == [])
        h.advance(50)
        #expect(h.send(.tick) == [], "no restart, no housekeeping, no early repeat")
        h.advance(50)
        #expect(h.send(.tick) == [.terminate(pid: 102)], "SIGTERM again every 100 ms")
        h.advance(2000)
        h.send(.exited(pid: 102, .exited(status: 0)))
        #expect(h.send(.tick) == [.report(.stopped), .finish(status: 0)])
        #expect(h.send(.tick) == [])
    }

    @Test func stopKillsWhatIsLeftAfterThirtySeconds() {
        let h = Harness(workers: 2)
        h.send(.stopRequested(reason: "SIGTERM"))
        h.send(.exited(pid: 102, .exited(status: 0)))
        h.advance(29_999)
        #expect(h.send(.tick) == [.terminate(pid: 101)])
        h.advance(1)
        #expect(h.send(.tick) == [
            .kill(pid: 101), .report(.killedAfterTimeout(count: 1)), .awaitExit(pid: 101),
            .report(.stopped), .finish(status: 0),
        ])
    }

    @Test func stopDropsHeldBackRestarts() {
        let h = Harness(workers: 1)
        for _ in 0..<3 { h.kill(h.oldest) }
        #expect(h.machine.workers.isEmpty && h.machine.delayedRestarts.count == 1)
        #expect(h.send(.stopRequested(reason: "SIGTERM")) == [.report(.stopping(reason: "SIGTERM")), .report(.stopped), .finish(status: 0)])
        h.advance(5000)
        #expect(h.send(.tick) == [])
    }

    @Test(arguments: [
        (Int32(0), WorkerExit.exited(status: 0), "exit status 0"),
        (Int32(0x0300), .exited(status: 3), "exit status 3"),
        (Int32(9), .signaled(signal: 9), "signal 9"),
        (Int32(0x80 | 11), .signaled(signal: 11), "signal 11"),
    ])
    func waitStatus(_ raw: Int32, _ exit: WorkerExit, _ text: String) {
        #expect(WorkerExit(waitStatus: raw) == exit)
        #expect(exit.description == text)
    }
}
