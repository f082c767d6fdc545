#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP

/// Fixed-window failure limits shared by every worker through the state directory
/// (RFC 8628 §5.1 for user codes; the same for sign-ins).
///
/// An attempt is counted as a failure **before** it is tried: `begin` adds one to each of its
/// counters under the counter's lock and refuses the attempt when a new count is over its
/// maximum. Checking first and counting after would let N workers that check at the same
/// moment all try, overshooting every budget by up to N − 1. An attempt that turns out not to
/// be a failure (a pending code, a right password) is taken back with `pass`, so people who
/// type their code right are never slowed; a refused attempt is taken back at once, so a
/// refused address does not spend the budgets it shares with others (the global ones).
struct BruteForceGuard {
    let store: any WebStateStorage
    let limits: WebSettings.Limits

    /// A refusal: the earliest moment every exhausted counter has reset.
    struct Refusal: Error {
        var retryAt: UnixTime
        var global: Bool
    }

    /// The unit an address is counted by: an IPv4 address as is, an IPv6 address by its /64
    /// (one subscriber usually holds a whole /64, so counting single IPv6 addresses would
    /// give an attacker 2^64 fresh budgets).
    static func clientKey(_ address: String) -> String {
        guard let bytes = ipv6(address) else { return mappedIPv4(address) ?? address }
        return Encoding.hex(bytes[0..<8]) + "::/64"
    }

    /// The /48 an IPv6 address lies in (a site's usual allocation, which holds 65,536 /64s);
    /// nil for IPv4, whose addresses are counted one by one.
    static func prefix48Key(_ address: String) -> String? {
        AddressKey.ipv6Network48(of: address)
    }

    /// The 16 bytes of a native IPv6 address (not an IPv4-mapped one).
    private static func ipv6(_ address: String) -> [UInt8]? {
        guard address.contains(":") else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1, !isMapped(bytes) else { return nil }
        return bytes
    }

    private static func isMapped(_ bytes: [UInt8]) -> Bool {
        bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    /// `::ffff:a.b.c.d` as `a.b.c.d`.
    private static func mappedIPv4(_ address: String) -> String? {
        guard address.contains(":") else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1, isMapped(bytes) else { return nil }
        return bytes[12..<16].map { String($0) }.joined(separator: ".")
    }

    /// A counter: its key in the store, its limit, whether it is global, and its name in the
    /// audit log's `lockout` events.
    fileprivate struct Counter {
        var key: String
        var limit: WebSettings.Limit
        var global: Bool
        var name: String
    }

    /// One attempt, already counted as a failure in each of its counters unless refused.
    struct Attempt {
        /// Set when the attempt is refused; nothing is counted then and nothing may be tried.
        var refusal: Refusal?
        fileprivate var held: [(counter: Counter, reading: WindowCount)] = []
    }

    /// A limit this failure used up: from now until `until`, attempts are refused.
    struct Lockout: Equatable {
        var limit: String
        var until: UnixTime
    }

    private func keys(userCodeFrom address: String) -> [Counter] {
        [Counter(key: "user-code-ip:\(Self.clientKey(address))", limit: limits.userCodePerIP, global: false, name: "user_code_per_ip"),
         Counter(key: "user-code-global", limit: limits.userCodeGlobal, global: true, name: "user_code_global")]
    }

    /// Narrow to wide, global last: a refusal by a narrow counter never touches the wider ones.
    private func keys(signInFrom address: String, username: String) -> [Counter] {
        var counters = [Counter(key: "sign-in-ip:\(Self.clientKey(address))", limit: limits.signInPerIP, global: false, name: "sign_in_per_ip")]
        if let prefix = Self.prefix48Key(address) {
            counters.append(Counter(key: "sign-in-ip48:\(prefix)", limit: limits.signInPerIPv6Prefix48, global: false, name: "sign_in_per_ipv6_48"))
        }
        counters.append(Counter(key: "sign-in-user:\(username)", limit: limits.signInPerUser, global: false, name: "sign_in_per_user"))
        counters.append(Counter(key: "sign-in-global", limit: limits.signInGlobal, global: true, name: "sign_in_global"))
        return counters
    }

    /// Counts the attempt in each counter in turn; the first count over its maximum refuses
    /// it, takes back what was counted, and reads the remaining counters only to say when
    /// every exhausted one resets.
    private func begin(_ counters: [Counter], now: UnixTime) throws -> Attempt {
        var held: [(counter: Counter, reading: WindowCount)] = []
        for (index, counter) in counters.enumerated() {
            let reading = try store.increment(key: counter.key, windowSeconds: counter.limit.windowSeconds, now: now)
            held.append((counter, reading))
            guard reading.count > counter.limit.maximum else { continue }
            release(held)
            var refusal = Refusal(retryAt: reading.windowEnd, global: counter.global)
            for rest in counters[(index + 1)...] {
                let other = try store.count(key: rest.key, windowSeconds: rest.limit.windowSeconds, now: now)
                if other.count >= rest.limit.maximum {
                    refusal.retryAt = max(refusal.retryAt, other.windowEnd)
                    refusal.global = refusal.global || rest.global
                }
            }
            return Attempt(refusal: refusal)
        }
        return Attempt(refusal: nil, held: held)
    }

    /// Takes counts back. A count that cannot be taken back (a storage error) stays a failure:
    /// soft state that errs towards refusing, never a reason to fail the request.
    private func release(_ held: [(counter: Counter, reading: WindowCount)]) {
        for (counter, reading) in held { try? store.decrement(key: counter.key, windowEnd: reading.windowEnd) }
    }

    /// The attempt was not a failure: takes its counts back.
    func pass(_ attempt: Attempt) { release(attempt.held) }

    /// The attempt failed: its counts stay. Returns the limits it exhausted (the failure whose
    /// count reached a maximum starts a lockout, so each lockout is reported once).
    func fail(_ attempt: Attempt) -> [Lockout] {
        attempt.held.filter { $0.reading.count == $0.counter.limit.maximum }
            .map { Lockout(limit: $0.counter.name, until: $0.reading.windowEnd) }
    }

    func beginUserCode(address: String, now: UnixTime) throws -> Attempt { try begin(keys(userCodeFrom: address), now: now) }
    func beginSignIn(address: String, username: String, now: UnixTime) throws -> Attempt {
        try begin(keys(signInFrom: address, username: username), now: now)
    }
}
