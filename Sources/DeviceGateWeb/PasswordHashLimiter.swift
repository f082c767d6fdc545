#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig

/// A host-wide cap on password hashes computed at once, across every worker.
///
/// A hash is the one deliberately slow thing a request can ask for, so a flood of sign-ins
/// could otherwise keep every worker hashing while polls (RFC 8628 §3.4) and `auth_request`
/// checks queue behind them. Each hash holds one of `slots` slot files of the state directory
/// (`slots/password-hash-<n>`, flock-ed without waiting); a sign-in that finds none free within
/// `waitMilliseconds` computes nothing and is answered 503 with Retry-After. The wait is
/// measured on the monotonic clock: it bounds how long a worker is held, it decides nothing.
struct PasswordHashLimiter {
    let store: any WebStateStorage
    let slots: Int
    let waitMilliseconds: Int

    static let pool = "password-hash"

    init(store: any WebStateStorage, settings: WebSettings) {
        self.store = store
        self.slots = settings.passwordHashSlots ?? Self.defaultSlots()
        self.waitMilliseconds = settings.passwordHashWaitMilliseconds
    }

    /// Half the online cores, at least one: the other half stays free for everything else.
    static func defaultSlots() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) / 2)
    }

    /// Runs `body` holding a slot, or returns nil without running it when no slot came free
    /// within the wait.
    func withSlot<T>(_ body: () throws -> T) throws -> T? {
        let deadline = Self.monotonicMilliseconds() + Int64(waitMilliseconds)
        while true {
            if let claim = try store.claimSlot(pool: Self.pool, count: slots) {
                defer { claim.release() }
                return try body()
            }
            let left = deadline - Self.monotonicMilliseconds()
            guard left > 0 else { return nil }
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(left, 5)) * 1_000_000)
            _ = nanosleep(&pause, nil)
        }
    }

    static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
