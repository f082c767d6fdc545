#if canImport(Glibc)
import Glibc
#endif
import Yams

/// The FastCGI socket as a trust boundary (issue 10, item 4): whoever can connect to it can
/// send any REMOTE_ADDR and any delegated subject, so a TCP listener is loopback-only unless
/// the operator names the web servers that may connect.
extension Reader {
    /// `server.allow_remote_fastcgi`: a list of IP address literals (no names, no ranges, no
    /// `true`: each web server is named).
    mutating func readPeerAddresses(_ node: Node, _ path: String) -> [String] {
        guard case .sequence(let sequence) = node else {
            issue(node, path, "expected a list of the web servers' IP addresses allowed to connect, e.g. [10.0.0.5, \"fd00::5\"]")
            return []
        }
        var out: [String] = []
        for (i, item) in sequence.enumerated() {
            guard let text = string(item, "\(path)[\(i)]") else { continue }
            if Self.isIPAddress(text) { out.append(text) } else {
                issue(item, "\(path)[\(i)]", "\"\(text)\" is not an IPv4 or IPv6 address (host names and ranges are not accepted: list each web server's address)")
            }
        }
        return out
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// 127.0.0.0/8: a TCP listener there is reachable from this host only.
    static func isLoopback(host: String) -> Bool {
        var v4 = in_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 else { return false }
        return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }

    mutating func validateServer(_ server: DeviceGateConfiguration.Server, signIn: WebSettings.SignIn) {
        guard case .tcp(let host, let port) = server.listen, server.allowRemoteFastCGI.isEmpty else { return }
        if !Self.isLoopback(host: host) {
            issue(at: "server.listen", "\(host):\(port) is not a loopback address: anyone who can reach it could speak FastCGI to devicegate and forge REMOTE_ADDR or the signed-in user; listen on a unix socket or 127.0.0.1, or list the web servers allowed to connect in server.allow_remote_fastcgi")
        } else if signIn == .delegated {
            // Every local user (a PHP script, a cron job) can reach a loopback port, and with
            // delegated sign-in whoever speaks FastCGI names the signed-in person
            // (DEVICEGATE_REMOTE_USER). A unix socket's mode and group keep them out.
            issue(at: "server.listen", "\(host):\(port) is a TCP port every local user can connect to, and with web.sign_in: delegated whoever connects can name the signed-in user; listen on a unix socket (its group limits who connects), or list the web servers in server.allow_remote_fastcgi to accept this")
        }
    }
}
