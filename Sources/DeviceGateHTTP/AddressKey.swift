import DeviceFlow
import DeviceGateConfig

/// The unit a client address is counted by for the pending-flow cap: an IPv4 address as is
/// (an IPv4-mapped IPv6 address as its IPv4 address), an IPv6 address by its /64, since one
/// subscriber usually holds a whole /64 and counting single IPv6 addresses would give an
/// attacker 2^64 fresh budgets. The address is FastCGI's `REMOTE_ADDR`, as nginx sets it.
/// (The verification page's `BruteForceGuard.clientKey` counts by the same rule.)
public enum AddressKey {
    public static func of(_ remoteAddress: String) -> String {
        guard let bytes = AddressBlock.parseAddress(remoteAddress) else {
            // No address (a local socket without REMOTE_ADDR) or something unparsable: all
            // such requests share one budget.
            return "other:" + String(remoteAddress.prefix(64))
        }
        if bytes.count == 4 { return bytes.map { String($0) }.joined(separator: ".") }
        return Encoding.hex(bytes[0..<8]) + "::/64"
    }

    /// The IPv6 /48 an address belongs to, or nil for IPv4 (and IPv4-mapped) addresses and
    /// anything unparsable: the wider budget one subscriber's many /64s share. The
    /// verification page's sign-in limit per /48 counts by it too.
    public static func ipv6Network48(of remoteAddress: String) -> String? {
        guard let bytes = AddressBlock.parseAddress(remoteAddress), bytes.count == 16 else { return nil }
        return Encoding.hex(bytes[0..<6]) + "::/48"
    }
}
