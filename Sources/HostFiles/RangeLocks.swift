#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// Open file description (OFD) byte-range locks, `fcntl(F_OFD_SETLK[W])` (Linux 3.15, POSIX
/// 2024): exclusive locks on a byte range of one shared file, so one file can hold the locks
/// of thousands of records and no record needs a lock file of its own.
///
/// Like flock and unlike classic POSIX record locks, an OFD lock belongs to the open file
/// description: it is released when the last descriptor of that description is closed,
/// process death (SIGKILL included) among them, closing another descriptor of the same file
/// does not drop it, and two descriptions opened by one process exclude each other. Threads
/// sharing one description do not exclude each other: callers that share a descriptor between
/// threads add a mutex of their own (`FlowLockTable`). Descriptors are opened O_CLOEXEC
/// (`Sys.open`), so a child process never shares them.
extension Sys {
    static let ofdGetLock: Int32 = 36
    static let ofdSetLock: Int32 = 37
    static let ofdSetLockWait: Int32 = 38

    /// The `struct flock` of a range; l_pid must be 0 for OFD locks.
    static func rangeLock(_ type: Int32, start: off_t, length: off_t) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = start
        lock.l_len = length
        lock.l_pid = 0
        return lock
    }

    /// Takes the exclusive lock of `length` bytes at `start` of `fd`; with `wait: false`
    /// returns false at once when another description holds any of them.
    package static func lockRange(_ fd: Int32, _ path: String, start: off_t, length: off_t, wait: Bool = true) throws -> Bool {
        if let code = SyscallFaults.check("fcntl", path) {
            if !wait && (code == EAGAIN || code == EACCES) { return false }
            throw error("fcntl", path, code)
        }
        var lock = rangeLock(F_WRLCK, start: start, length: length)
        while true {
            if fcntl(fd, wait ? ofdSetLockWait : ofdSetLock, &lock) == 0 { return true }
            if errno == EINTR { continue }
            if !wait && (errno == EAGAIN || errno == EACCES) { return false }
            throw error("fcntl", path)
        }
    }

    /// Releases a range taken with `lockRange`. It cannot fail on an open descriptor and a
    /// range this description holds.
    package static func unlockRange(_ fd: Int32, start: off_t, length: off_t) {
        var lock = rangeLock(F_UNLCK, start: start, length: length)
        while fcntl(fd, ofdSetLock, &lock) != 0 && errno == EINTR {}
    }

    /// Whether another open file description holds a lock on any byte of `fd` (tests and the
    /// state checks: a dead worker never holds one).
    package static func anyRangeLocked(_ fd: Int32) -> Bool {
        var lock = rangeLock(F_WRLCK, start: 0, length: 0)
        guard fcntl(fd, ofdGetLock, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }
}

extension Sys {
    /// ftruncate(2).
    package static func truncate(_ fd: Int32, _ path: String, size: off_t) throws {
        if let code = SyscallFaults.check("ftruncate", path) { throw error("ftruncate", path, code) }
        while ftruncate(fd, size) != 0 {
            if errno == EINTR { continue }
            throw error("ftruncate", path)
        }
    }
}
