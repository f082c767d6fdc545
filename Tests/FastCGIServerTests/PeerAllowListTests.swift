#if canImport(Glibc)
import Glibc
#endif
import FastCGIServer
import Testing

/// Which peers a worker serves (issue 10, item 4b): unix peers always, TCP peers only when
/// listed, or on loopback when nothing is listed.
@Suite struct PeerAllowListTests {
    static func peer(_ text: String) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            var v4 = sockaddr_in()
            var v6 = sockaddr_in6()
            if inet_pton(AF_INET, text, &v4.sin_addr) == 1 {
                v4.sin_family = sa_family_t(AF_INET)
                withUnsafeBytes(of: &v4) { raw.copyMemory(from: $0) }
            } else if inet_pton(AF_INET6, text, &v6.sin6_addr) == 1 {
                v6.sin6_family = sa_family_t(AF_INET6)
                withUnsafeBytes(of: &v6) { raw.copyMemory(from: $0) }
            } else {
                var un = sockaddr_un()
                un.sun_family = sa_family_t(AF_UNIX)
                withUnsafeBytes(of: &un) { raw.copyMemory(from: $0) }
            }
        }
        return storage
    }

    /// (allowed list, peer, served?)
    @Test(arguments: [
        ([], "unix", true),
        ([], "127.0.0.1", true),
        ([], "127.0.0.2", true),
        ([], "::1", true),
        ([], "::ffff:127.0.0.1", true),
        ([], "10.0.0.5", false),
        ([], "fd00::5", false),
        (["10.0.0.5"], "10.0.0.5", true),
        (["10.0.0.5"], "::ffff:10.0.0.5", true),
        (["10.0.0.5"], "10.0.0.6", false),
        (["10.0.0.5"], "127.0.0.1", false),
        (["10.0.0.5"], "unix", true),
        (["fd00::5"], "fd00::5", true),
        (["fd00::5"], "fd00::6", false),
        (["::ffff:10.0.0.5"], "10.0.0.5", true),
        (["127.0.0.1"], "127.0.0.2", false),
    ] as [([String], String, Bool)])
    func decision(_ allowed: [String], _ peer: String, _ served: Bool) throws {
        let list = try #require(PeerAllowList(allowed))
        #expect(list.allows(Self.peer(peer)) == served)
    }

    @Test(arguments: ["localhost", "10.0.0.0/8", "", "1.2.3"])
    func notAnAddress(_ text: String) {
        #expect(PeerAllowList([text]) == nil)
    }
}
