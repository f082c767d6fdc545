#if canImport(Glibc)
import Glibc
#endif

/// Who may talk FastCGI to a worker over TCP (`server.allow_remote_fastcgi`). Whoever speaks
/// FastCGI chooses REMOTE_ADDR and the delegated subject, so the peer is checked as each
/// connection is accepted, before a byte is read:
///
/// - a unix-socket peer is always allowed: the socket file's owner, group and mode are the
///   fence (deploy/systemd/devicegate.socket, group `devicegate-fcgi`);
/// - a TCP peer must be one of the listed addresses, or, when none are listed, on loopback
///   (127.0.0.0/8, ::1). An IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`) counts as `a.b.c.d`.
///
/// libfcgi's own `FCGI_WEB_SERVER_ADDRS` is not used: it checks IPv4 peers only (an IPv6
/// listener inherited from systemd would accept anyone) and cannot be combined with the read
/// timeout that `FastCGIWorker` sets on each accepted connection.
public struct PeerAllowList: Sendable, Equatable {
    /// 4-byte IPv4 or 16-byte IPv6 addresses, network order.
    let addresses: Set<[UInt8]>

    /// Nil when an entry is not an IPv4 or IPv6 literal (the configuration loader has
    /// already refused those).
    public init?(_ texts: [String]) {
        var out: Set<[UInt8]> = []
        for text in texts {
            guard let bytes = Self.parse(text) else { return nil }
            out.insert(bytes)
        }
        addresses = out
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return unmapped(withUnsafeBytes(of: &v6) { Array($0) }) }
        return nil
    }

    /// `::ffff:a.b.c.d` as `a.b.c.d`; anything else unchanged.
    static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else { return bytes }
        return Array(bytes[12...])
    }

    static func isLoopback(_ bytes: [UInt8]) -> Bool {
        bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// The peer's address bytes, nil for a unix-socket (or other non-IP) peer.
    static func ipAddress(of address: sockaddr_storage) -> [UInt8]? {
        var copy = address
        switch Int32(address.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &copy) { raw in
                var sin = raw.load(as: sockaddr_in.self)
                return withUnsafeBytes(of: &sin.sin_addr) { Array($0) }
            }
        case AF_INET6:
            return withUnsafeBytes(of: &copy) { raw in
                var sin6 = raw.load(as: sockaddr_in6.self)
                return unmapped(withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) })
            }
        default:
            return nil
        }
    }

    /// Whether a connection from `address` (as accept(2) filled it in) may be served.
    public func allows(_ address: sockaddr_storage) -> Bool {
        guard let bytes = Self.ipAddress(of: address) else { return Int32(address.ss_family) == AF_UNIX }
        return addresses.isEmpty ? Self.isLoopback(bytes) : addresses.contains(bytes)
    }

    /// The peer as text for a log line (`10.0.0.9`, `fd00::9`, `unix`).
    static func describe(_ address: sockaddr_storage) -> String {
        guard let bytes = ipAddress(of: address) else { return "unix" }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }
}

extension PeerAllowList {
    /// Why an inherited listening socket (systemd's `ListenStream=`, spawn-fcgi) must not be
    /// served, or nil: a TCP socket bound to a non-loopback or wildcard address while no web
    /// server is listed would accept only loopback peers anyway, so starting would hide the
    /// mistake. The same rule the configuration loader applies to `server.listen`.
    public func refusal(forListener fd: Int32) -> String? {
        guard addresses.isEmpty else { return nil }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok, let bytes = Self.ipAddress(of: address), !Self.isLoopback(bytes) else { return nil }
        return "the inherited listening socket (fd \(fd)) is bound to \(Self.describe(address)), not a loopback address: "
            + "anyone who can reach it could speak FastCGI to devicegate and forge REMOTE_ADDR or the signed-in user; "
            + "bind it to a unix socket or 127.0.0.1 (ListenStream=/run/devicegate/devicegate.sock), "
            + "or list the web servers allowed to connect in server.allow_remote_fastcgi"
    }
}
