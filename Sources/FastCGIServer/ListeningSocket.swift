#if canImport(Glibc)
import Glibc
#endif

/// Binds the FastCGI listening socket that every worker inherits as fd 0.
public enum ListeningSocket {
    public struct BindError: Error, CustomStringConvertible {
        public var description: String
    }

    private static func failure(_ what: String) -> BindError {
        BindError(description: "\(what): \(String(cString: strerror(errno)))")
    }

    /// A unix-domain socket at `path`. A stale socket left by a crash is replaced; any other
    /// file at the path is an error. `mode` restricts who may connect (nginx's user).
    public static func unix(path: String, mode: mode_t, backlog: Int32 = 1024) throws -> Int32 {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw BindError(description: "\(path) exists and is not a socket; refusing to replace it")
            }
            // Replace only a stale socket: if something accepts on it, another server is live.
            if try isAccepting(path) {
                throw BindError(description: "another server is already listening on \(path); stop it first")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        var address = try unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { let e = failure("bind \(path)"); close(fd); throw e }
        guard chmod(path, mode) == 0 else { let e = failure("chmod \(path)"); close(fd); throw e }
        guard listen(fd, backlog) == 0 else { let e = failure("listen \(path)"); close(fd); throw e }
        return fd
    }

    private static func isAccepting(_ path: String) throws -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw failure("socket") }
        defer { close(probe) }
        var address = try unixAddress(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0 || errno == EAGAIN
    }

    private static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw BindError(description: "socket path too long (max \(capacity - 1) bytes): \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
            raw[path.utf8.count] = 0
        }
        return address
    }

    /// A TCP socket on an IPv4 address (normally 127.0.0.1).
    public static func tcp(host: String, port: Int, backlog: Int32 = 1024) throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw BindError(description: "not an IPv4 address: \(host)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { let e = failure("bind \(host):\(port)"); close(fd); throw e }
        guard listen(fd, backlog) == 0 else { let e = failure("listen \(host):\(port)"); close(fd); throw e }
        return fd
    }
}
