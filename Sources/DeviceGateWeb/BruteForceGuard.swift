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

    private func keys(userCodeFrom address: String) -> [(String, WebSettings.Limit, Bool)] {
        [("user-code-ip:\(Self.clientKey(address))", limits.userCodePerIP, false), ("user-code-global", limits.userCodeGlobal, true)]
    }

    private func keys(signInFrom address: String, username: String) -> [(String, WebSettings.Limit, Bool)] {
        [("sign-in-ip:\(Self.clientKey(address))", limits.signInPerIP, false), ("sign-in-user:\(username)", limits.signInPerUser, false)]
    }

    private func check(_ keys: [(String, WebSettings.Limit, Bool)], now: UnixTime) throws -> Refusal? {
        var refusal: Refusal?
        for (key, limit, global) in keys {
            let reading = try store.count(key: key, windowSeconds: limit.windowSeconds, now: now)
            if reading.count >= limit.maximum {
                let retry = max(refusal?.retryAt ?? reading.windowEnd, reading.windowEnd)
                refusal = Refusal(retryAt: retry, global: (refusal?.global ?? false) || global)
            }
        }
        return refusal
    }

    private func fail(_ keys: [(String, WebSettings.Limit, Bool)], now: UnixTime) throws {
        for (key, limit, _) in keys { _ = try store.increment(key: key, windowSeconds: limit.windowSeconds, now: now) }
    }

    func checkUserCode(address: String, now: UnixTime) throws -> Refusal? { try check(keys(userCodeFrom: address), now: now) }
    func failUserCode(address: String, now: UnixTime) throws { try fail(keys(userCodeFrom: address), now: now) }
    func checkSignIn(address: String, username: String, now: UnixTime) throws -> Refusal? {
        try check(keys(signInFrom: address, username: username), now: now)
    }
    func failSignIn(address: String, username: String, now: UnixTime) throws {
        try fail(keys(signInFrom: address, username: username), now: now)
    }
}
