#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateTesting
@testable import DeviceGateWeb
import DirectoryStorage
import Foundation
import Testing

/// The failure limits counted ahead of the attempt (issue 10, item 6), the per-/48 and global
/// sign-in budgets, and refused attempts that spend nothing.
@Suite struct BruteForceGuardTests {
    /// N "workers" (threads, each with its own store on one state directory, as processes
    /// have) all begin an attempt before any of them fails: exactly `limit` are let through.
    /// Checking first and counting after lets all N through.
    @Test(arguments: ["per user", "per IP", "global", "user code"])
    func concurrentFailuresNeverOvershootTheLimit(_ kind: String) throws {
        let f = try WebFixture(.disk)
        let limit = 3, workers = 8
        var tightened = WebSettings.Limits()
        let tight = WebSettings.Limit(maximum: limit, windowSeconds: 900)
        switch kind {
        case "per user": tightened.signInPerUser = tight
        case "per IP": tightened.signInPerIP = tight
        case "global": tightened.signInGlobal = tight
        default: tightened.userCodeGlobal = tight
        }
        let limits = tightened
        let now = f.clock.now()
        let root = f.config.stateDirectory
        let started = Barrier(workers)
        let admitted = Slots(workers)
        let threads = (0..<workers).map { i in
            Thread {
                defer { admitted.done() }
                let store = try? FileWebStateStore(directory: StateDirectory(root: root))
                let guardian = store.map { BruteForceGuard(store: $0, limits: limits) }
                let address = kind == "per IP" ? "198.51.100.7" : "198.51.100.\(i)"
                let user = kind == "per user" ? "alice" : "user\(i)"
                let attempt = kind == "user code" ? try? guardian?.beginUserCode(address: address, now: now)
                    : try? guardian?.beginSignIn(address: address, username: user, now: now)
                started.wait()  // every worker has been admitted or refused; now they all fail
                guard let guardian, let attempt else { admitted.set(i, -1); return }
                admitted.set(i, attempt.refusal == nil ? 1 : 0)
                _ = guardian.fail(attempt)
            }
        }
        for thread in threads { thread.start() }
        admitted.waitForAll()
        #expect(!admitted.values.contains(-1), "a worker could not reach the store")
        #expect(admitted.values.filter { $0 == 1 }.count == limit, "let through: \(admitted.values)")
    }

    @Test func signInsAreLimitedPerIPv6Slash48AcrossItsSlash64s() throws {
        let f = try WebFixture { config, _ in config.web.limits.signInPerIPv6Prefix48 = .init(maximum: 3, windowSeconds: 900) }
        for net in ["a", "b", "c"] { #expect(Browser(f, address: "2001:db8:1:\(net)::1").signIn("alice", "guess").status == 403) }
        let r = Browser(f, address: "2001:db8:1:d::1").signIn()
        #expect(r.status == 429)
        #expect(r.bodyText.contains("from your network"))
        #expect(f.audit.events.contains { $0.kind == .lockout && $0.details.contains { $0 == ("limit", "sign_in_per_ipv6_48") } })
        // Another /48 is not affected, and IPv4 addresses have no /48.
        #expect(Browser(f, address: "2001:db8:2:a::1").signIn().status == 303)
        for i in 0..<5 { #expect(Browser(f, address: "192.0.2.\(i)").signIn("bob", "guess").status == 403) }
    }

    @Test func failedSignInsHaveAGlobalBudgetAcrossAddressesAndNames() throws {
        let f = try WebFixture { config, _ in config.web.limits.signInGlobal = .init(maximum: 4, windowSeconds: 900) }
        for i in 0..<4 { #expect(Browser(f, address: "198.51.100.\(i)").signIn("user\(i)", "guess").status == 403) }
        let r = Browser(f, address: "192.0.2.200").signIn()
        #expect(r.status == 429)
        #expect(r.bodyText.contains("pausing for everyone"))
        let lockout = try #require(f.audit.events.last { $0.kind == .lockout })
        #expect(lockout.details.first { $0.0 == "limit" }?.1 == "sign_in_global")
        #expect(lockout.user == nil)
    }

    /// An address over its own limit keeps being refused, and those refusals do not spend the
    /// global budget that everyone else shares.
    @Test func refusedAttemptsSpendNoOtherBudget() throws {
        let f = try WebFixture { config, _ in
            config.web.limits.signInPerIP = .init(maximum: 2, windowSeconds: 900)
            config.web.limits.signInGlobal = .init(maximum: 5, windowSeconds: 900)
        }
        let attacker = Browser(f, address: "203.0.113.66")
        for _ in 0..<2 { #expect(attacker.signIn("bob", "guess").status == 403) }
        for _ in 0..<10 { #expect(attacker.signIn("bob", "guess").status == 429) }
        for i in 0..<3 { #expect(Browser(f, address: "198.51.100.\(i)").signIn("carol", "guess").status == 403) }
        #expect(Browser(f, address: "198.51.100.9").signIn().status == 429)  // 2 + 3 = 5 failures: the global budget
    }

    /// A name locked out by its own limit: attempts on it from an address are refused without
    /// spending that address's budget (counted ahead, then taken back).
    @Test func attemptsOnALockedNameSpendNothingOfTheAddress() throws {
        let f = try WebFixture { config, _ in
            config.web.limits.signInPerUser = .init(maximum: 2, windowSeconds: 900)
            config.web.limits.signInPerIP = .init(maximum: 3, windowSeconds: 900)
        }
        for i in 0..<2 { #expect(Browser(f, address: "198.51.100.\(i)").signIn("bob", "guess").status == 403) }
        let browser = Browser(f, address: "192.0.2.50")
        for _ in 0..<10 { #expect(browser.signIn("bob", "guess").status == 429) }
        #expect(browser.signIn().status == 303)
        #expect(try f.webStore.count(key: "sign-in-ip:192.0.2.50", windowSeconds: 900, now: f.clock.now()).count == 0)
    }

    /// Right passwords and pending codes are taken back: they never use up a budget.
    @Test func attemptsThatSucceedAreTakenBack() throws {
        let f = try WebFixture { config, _ in
            config.web.limits.signInPerUser = .init(maximum: 1, windowSeconds: 900)
            config.web.limits.signInGlobal = .init(maximum: 1, windowSeconds: 900)
        }
        for _ in 0..<4 { #expect(Browser(f).signIn().status == 303) }
        #expect(try f.webStore.count(key: "sign-in-global", windowSeconds: 900, now: f.clock.now()).count == 0)
    }

    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1", nil), ("::ffff:192.0.2.1", "192.0.2.1", nil),
        ("2001:db8:aaaa:bbbb:1:2:3:4", "20010db8aaaabbbb::/64", "20010db8aaaa::/48"),
        ("2001:db8:aaaa::1", "20010db8aaaa0000::/64", "20010db8aaaa::/48"),
    ] as [(String, String, String?)])
    func addressesAreCountedByTheirPrefixes(_ address: String, _ slash64: String, _ slash48: String?) {
        #expect(BruteForceGuard.clientKey(address) == slash64)
        #expect(BruteForceGuard.prefix48Key(address) == slash48)
    }
}

/// pthread_barrier_wait for `count` threads.
final class Barrier: @unchecked Sendable {
    private let barrier = UnsafeMutablePointer<pthread_barrier_t>.allocate(capacity: 1)
    init(_ count: Int) { pthread_barrier_init(barrier, nil, UInt32(count)) }
    func wait() { pthread_barrier_wait(barrier) }
    deinit { pthread_barrier_destroy(barrier); barrier.deallocate() }
}

/// One result per thread, and a wait for all of them.
final class Slots: @unchecked Sendable {
    private let lock = NSCondition()
    private var results: [Int]
    private var finished = 0

    init(_ count: Int) { results = Array(repeating: 0, count: count) }
    func set(_ index: Int, _ value: Int) { lock.lock(); results[index] = value; lock.unlock() }
    func done() { lock.lock(); finished += 1; lock.signal(); lock.unlock() }
    func waitForAll() { lock.lock(); while finished < results.count { lock.wait() }; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return results }
}
