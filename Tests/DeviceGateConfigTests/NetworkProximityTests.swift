import DeviceGateConfig
import Testing

/// "From your network" on the consent page means the same IPv4 /24 or IPv6 /64 (issue 14,
/// item 2); anything that is not an address is never "same".
struct NetworkProximityTests {
    @Test(arguments: [
        ("192.0.2.7", "192.0.2.200", NetworkProximity.sameNetwork),
        ("192.0.2.7", "192.0.3.7", .otherNetwork),
        ("::ffff:192.0.2.7", "192.0.2.9", .sameNetwork),
        ("2001:db8:1:2::10", "2001:db8:1:2:ffff::1", .sameNetwork),
        ("2001:db8:1:2::10", "2001:db8:1:3::10", .otherNetwork),
        ("2001:db8::1", "192.0.2.1", .otherNetwork),
        ("", "192.0.2.1", .unknown),
        ("192.0.2.1", "unix:", .unknown),
        ("192.0.2", "192.0.2.1", .unknown),
    ])
    func sameNetworkIsTheSlash24OrTheSlash64(a: String, b: String, expected: NetworkProximity) {
        #expect(NetworkProximity.between(a, b) == expected)
        #expect(NetworkProximity.between(b, a) == expected)
    }
}
