#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig

/// Fixed-window failure limits shared by every worker through the state directory
/// (RFC 8628 §5.1 for user codes; the same for sign-ins).
///
/// A request is refused while any of its counters has reached its maximum in the current
/// window; only failures are counted, so people who type their code right are never slowed.
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
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map { String($0) }.joined(separator: ".")  // ::ffff:a.b.c.d
        }
        return Encoding.hex(bytes[0..<8]) + "::/64"
    }

    /// A counter: its key in the store, its limit, whether it is global, and its name in the
    /// audit log's `lockout` events.
    private typealias Counter = (key: String, limit: WebSettings.Limit, global: Bool, name: String)

    private func keys(userCodeFrom address: String) -> [Counter] {
        [("user-code-ip:\(Self.clientKey(address))", limits.userCodePerIP, false, "user_code_per_ip"),
         ("user-code-global", limits.userCodeGlobal, true, "user_code_global")]
    }

    private func keys(signInFrom address: String, username: String) -> [Counter] {
        [("sign-in-ip:\(Self.clientKey(address))", limits.signInPerIP, false, "sign_in_per_ip"),
         ("sign-in-user:\(username)", limits.signInPerUser, false, "sign_in_per_user")]
    }

    private func check(_ keys: [Counter], now: UnixTime) throws -> Refusal? {
        var refusal: Refusal?
        for (key, limit, global, _) in keys {
            let reading = try store.count(key: key, windowSeconds: limit.windowSeconds, now: now)
            if reading.count >= limit.maximum {
                let retry = max(refusal?.retryAt ?? reading.windowEnd, reading.windowEnd)
                refusal = Refusal(retryAt: retry, global: (refusal?.global ?? false) || global)
            }
        }
        return refusal
    }

    /// A limit this failure used up: from now until `until`, attempts are refused.
    struct Lockout: Equatable {
        var limit: String
        var until: UnixTime
    }

    /// Counts a failure; returns the limits it exhausted (the failure that reaches a maximum
    /// starts a lockout, and only that one, so each lockout is reported once).
    private func fail(_ keys: [Counter], now: UnixTime) throws -> [Lockout] {
        var lockouts: [Lockout] = []
        for (key, limit, _, name) in keys {
            let reading = try store.increment(key: key, windowSeconds: limit.windowSeconds, now: now)
            if reading.count == limit.maximum { lockouts.append(Lockout(limit: name, until: reading.windowEnd)) }
        }
        return lockouts
    }

    func checkUserCode(address: String, now: UnixTime) throws -> Refusal? { try check(keys(userCodeFrom: address), now: now) }
    func failUserCode(address: String, now: UnixTime) throws -> [Lockout] { try fail(keys(userCodeFrom: address), now: now) }
    func checkSignIn(address: String, username: String, now: UnixTime) throws -> Refusal? {
        try check(keys(signInFrom: address, username: username), now: now)
    }
    func failSignIn(address: String, username: String, now: UnixTime) throws -> [Lockout] {
        try fail(keys(signInFrom: address, username: username), now: now)
    }
}
