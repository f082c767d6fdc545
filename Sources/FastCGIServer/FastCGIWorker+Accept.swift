#if canImport(Glibc)
import Glibc
#endif
import CFastCGI
import Logging

/// The worker's own accept(2), in front of libfcgi's: the peer is checked before anything is
/// read, and the connection gets a read timeout, neither of which libfcgi's `OS_Accept` offers.
extension FastCGIWorker {
    public struct ConnectionPolicy: Sendable {
        /// SO_RCVTIMEO and SO_SNDTIMEO of each accepted connection, in seconds
        /// (`server.request_read_timeout`).
        public var readTimeoutSeconds: Int
        public var peers: PeerAllowList
        public init(readTimeoutSeconds: Int = 5, peers: PeerAllowList = PeerAllowList([])!) {
            self.readTimeoutSeconds = readTimeoutSeconds
            self.peers = peers
        }
    }

    /// One connection from the (non-blocking) listening socket on fd 0, allowed and with its
    /// timeouts set; nil when none is pending or the peer was refused (closed unread).
    func acceptConnection() -> Int32? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(0, $0, &length) }
        }
        guard fd >= 0 else {
            // Another worker won the connection, or it was reset while queued.
            let code = errno
            if code != EAGAIN && code != EWOULDBLOCK && code != EINTR && code != ECONNABORTED && code != EPROTO {
                logger.error("accept on the listening socket failed", metadata: ["errno": "\(code)"])
                usleep(10_000)
            }
            return nil
        }
        guard policy.peers.allows(address) else {
            close(fd)
            logRefusal(address)
            return nil
        }
        var timeout = timeval(tv_sec: policy.readTimeoutSeconds, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
        if Int32(address.ss_family) != AF_UNIX {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        return fd
    }

    /// One line a second at most, so a connection flood from a refused peer cannot flood the log.
    private func logRefusal(_ address: sockaddr_storage) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        guard now.tv_sec != refusalLogSecond else { refusalsUnlogged += 1; return }
        refusalLogSecond = now.tv_sec
        logger.warning("FastCGI connection refused: peer not in server.allow_remote_fastcgi",
                       metadata: ["peer": "\(PeerAllowList.describe(address))", "refused.unlogged": "\(refusalsUnlogged)"])
        refusalsUnlogged = 0
    }

    /// Hands an accepted connection to libfcgi, which reads the request's BEGIN_REQUEST and
    /// PARAMS from it. libfcgi accepts only when `ipcFd` is negative, and closes an open
    /// connection first unless `keepConnection` is set: both are set here, and `listen_sock`
    /// is -1, so libfcgi never accepts a connection itself. A connection that fails or times
    /// out while being read is closed by libfcgi at once (`detached`: no lingering close) and
    /// the call returns an error.
    func beginRequest(_ request: UnsafeMutablePointer<FCGX_Request>, on fd: Int32) -> Bool {
        request.pointee.ipcFd = fd
        request.pointee.keepConnection = 1
        request.pointee.detached = 1
        return FCGX_Accept_r(request) >= 0
    }
}
