#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// An append-only log file shared by every process of a host: the audit log.
///
/// Opened `O_APPEND`, each line is one write(2), so lines from several workers never interleave
/// (appends to a regular file are atomic with respect to each other on Linux). Lines are not
/// fsynced: a line reaches the page cache before the response leaves, so it survives the
/// process's death (SIGKILL included) but not a power cut of the next few seconds.
///
/// Log rotation needs no signal: at most once a second, before a write, the path is stat-ed,
/// and when it names another file (logrotate moved it away and created a new one) or none,
/// the log is reopened there.
public final class AuditLogFile: @unchecked Sendable {
    public let path: String
    private var fd: Int32
    private var identity: (dev: UInt64, ino: UInt64)
    private var lastCheck: Int64 = 0

    /// Opens (creating, 0600) the log, or throws a message naming the path and the reason.
    public init(path: String) throws {
        self.path = path
        guard let fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600) else { throw Sys.error("open", path) }
        self.fd = fd
        var st = Glibc.stat()
        fstat(fd, &st)
        identity = (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    deinit { Sys.close(fd) }

    private static func monotonicSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec)
    }

    private func reopenIfRotated() {
        let now = Self.monotonicSeconds()
        guard now != lastCheck else { return }
        lastCheck = now
        if let st = Sys.stat(path), UInt64(st.st_dev) == identity.dev, UInt64(st.st_ino) == identity.ino { return }
        guard let fresh = try? Sys.open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600) else { return }
        var st = Glibc.stat()
        fstat(fresh, &st)
        Sys.close(fd)
        fd = fresh
        identity = (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Appends one line (a newline is added). Throws on a failed write, e.g. a full disk.
    public func append(line: [UInt8]) throws {
        reopenIfRotated()
        try Sys.writeAll(fd, path, line + [0x0A])
    }
}
