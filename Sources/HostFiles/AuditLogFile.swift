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

    /// How the log is opened: `O_NOFOLLOW`, so that whoever can write the log's directory cannot
    /// point the service's appends at another file (`/etc/passwd`, a key) with a symlink.
    static let flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW

    /// Why the audit log cannot be opened, phrased for an operator.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Opens (creating, 0600) the log, or throws a message naming the path and the reason.
    /// A symbolic link at the path is refused.
    public init(path: String) throws {
        self.path = path
        if let st = Sys.lstat(path), st.st_mode & S_IFMT == S_IFLNK {
            throw Problem(description: "\(path) is a symbolic link, and the audit log is never opened through one (a link could send the appends to any file the service may write): set audit.file to the real file, or remove the link (rm \(path))")
        }
        let fd = try Sys.open(path, Self.flags, 0o600)
        let st: Glibc.stat
        do { st = try Sys.fstat(fd, path) } catch { Sys.close(fd); throw error }
        self.fd = fd
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
        // A link put in the log's place fails here (ELOOP): the old file is kept.
        guard let fresh = try? Sys.open(path, Self.flags, 0o600) else { return }
        // (fstat of a descriptor just opened cannot fail short of EIO; keep the old file then)
        guard let st = try? Sys.fstat(fresh, path) else { Sys.close(fresh); return }
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
