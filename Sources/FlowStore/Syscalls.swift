#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport
import DeviceFlow

/// The few syscalls the store needs, each retried on EINTR and mapped to `FlowStorageError`
/// with the call, the path and errno. This file is the only place that calls them.
enum Sys {
    static func error(_ call: String, _ path: String, _ code: Int32 = errno) -> FlowStorageError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return FlowStorageError(.noSpace, "\(call) \(path): \(text)")
        }
        return FlowStorageError(.io, "\(call) \(path): \(text)")
    }

    /// open(2); returns nil for ENOENT when `missingOK`.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600, missingOK: Bool = false) throws -> Int32? {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if missingOK && errno == ENOENT { return nil }
            throw error("open", path)
        }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Runs `body` with the descriptor and closes it on every path.
    static func closeAfter<T>(_ fd: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        defer { close(fd) }
        return try body(fd)
    }

    /// flock(2) exclusive. Locks belong to the open file description, so they vanish when the
    /// process dies, SIGKILL included: no lock is ever left held by a dead worker.
    static func lockExclusive(_ fd: Int32, _ path: String, wait: Bool = true) throws -> Bool {
        while true {
            if flock(fd, wait ? LOCK_EX : (LOCK_EX | LOCK_NB)) == 0 { return true }
            if errno == EINTR { continue }
            if !wait && errno == EWOULDBLOCK { return false }
            throw error("flock", path)
        }
    }

    /// Runs `body` holding the flock of `fd`, released on every path (the descriptor stays open).
    static func withExclusiveLock<T>(_ fd: Int32, _ path: String, _ body: () throws -> T) throws -> T {
        _ = try lockExclusive(fd, path)
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }

    static func lockShared(_ fd: Int32, _ path: String) throws {
        while true {
            if flock(fd, LOCK_SH) == 0 { return }
            if errno == EINTR { continue }
            throw error("flock", path)
        }
    }

    /// Reads the whole file (small state files only), up to `limit` bytes.
    static func readAll(_ fd: Int32, _ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: chunk[0..<n])
                // A short read of a regular file is its end: spares the read(2) that returns 0.
                if n < chunk.count { break }
                continue
            }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw error("read", path)
        }
        return out
    }

    /// Reads a whole file by path; nil when it does not exist.
    static func readFile(_ path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard let fd = try open(path, O_RDONLY, missingOK: true) else { return nil }
        return try closeAfter(fd) { try readAll($0, path, limit: limit) }
    }

    static func pread(_ fd: Int32, _ path: String, count: Int, offset: off_t) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, count, offset) }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == EINTR { continue }
            throw error("pread", path)
        }
    }

    static func pwriteAll(_ fd: Int32, _ path: String, _ bytes: [UInt8], offset: off_t) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress! + done, bytes.count - done, offset + off_t(done)) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw error("pwrite", path)
        }
    }

    static func writeAll(_ fd: Int32, _ path: String, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw error("write", path)
        }
    }

    static func fsync(_ fd: Int32, _ path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw error("fsync", path)
        }
    }

    static func fdatasync(_ fd: Int32, _ path: String) throws {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw error("fdatasync", path)
        }
    }

    static func fstat(_ fd: Int32, _ path: String) throws -> Glibc.stat {
        var st = Glibc.stat()
        guard Glibc.fstat(fd, &st) == 0 else { throw error("fstat", path) }
        return st
    }

    /// One write(2) of a whole frame to a descriptor opened with O_APPEND, so that frames of
    /// concurrent writers never interleave; returns the offset where it ends. A short write
    /// (a full disk) is an error: the part written is a torn frame that readers skip.
    static func appendFrame(_ fd: Int32, _ path: String, _ frame: [UInt8]) throws -> off_t {
        while true {
            let n = frame.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n == frame.count { break }
            if n < 0 && errno == EINTR { continue }
            throw error("write", path, n < 0 ? errno : ENOSPC)
        }
        let end = lseek(fd, 0, SEEK_CUR)
        guard end >= 0 else { throw error("lseek", path) }
        return end
    }

    /// syncfs(2) of the filesystem that holds `path`.
    static func syncFilesystem(_ path: String) throws {
        guard let fd = try open(path, O_RDONLY | O_DIRECTORY) else { throw error("open", path) }
        try closeAfter(fd) { fd in
            while dg_syncfs(fd) != 0 {
                if errno == EINTR { continue }
                throw error("syncfs", path)
            }
        }
    }

    /// fsync of a directory, which makes a rename or unlink inside it durable.
    static func fsyncDirectory(_ path: String) throws {
        guard let fd = try open(path, O_RDONLY | O_DIRECTORY) else { return }
        try closeAfter(fd) { try fsync($0, path) }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw error("rename", to) }
    }

    /// link(2): publishes `from` under `to` only if `to` does not exist. Returns false on EEXIST.
    static func linkIfAbsent(_ from: String, _ to: String) throws -> Bool {
        if Glibc.link(from, to) == 0 { return true }
        if errno == EEXIST { return false }
        throw error("link", to)
    }

    /// unlink(2); a missing file is not an error.
    static func unlink(_ path: String) throws {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    static func mkdir(_ path: String, _ mode: mode_t = 0o700) throws {
        if Glibc.mkdir(path, mode) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    /// rmdir(2), for a directory that is no longer used; one that is not empty (or is gone)
    /// stays as it is.
    static func removeDirectoryIfEmpty(_ path: String) {
        _ = Glibc.rmdir(path)
    }

    static func stat(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
    }

    /// lstat(2): the link itself, not what it points at.
    static func lstat(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// statvfs(3): nil when it fails (EINTR retried).
    /// (Unqualified, as with flock: `Glibc.statvfs` names the struct.)
    static func filesystemStatus(_ path: String) -> Glibc.statvfs? {
        var st = Glibc.statvfs()
        while true {
            if statvfs(path, &st) == 0 { return st }
            if errno != EINTR { return nil }
        }
    }

    /// Names in a directory, without `.` and `..`.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes `bytes` to `directory/name` atomically: a temp file in the same directory,
    /// fsync, rename over the target, then (optionally) fsync of the directory. A crash at any
    /// instant leaves either the old file or the new one, never a torn one.
    static func atomicWrite(directory: String, name: String, _ bytes: [UInt8], syncDirectory: Bool = true) throws {
        let temp = try writeTemp(directory: directory, bytes)
        do {
            try rename(temp, directory + "/" + name)
        } catch {
            try? unlink(temp)
            throw error
        }
        if syncDirectory { try fsyncDirectory(directory) }
    }

    /// Writes (and unless told otherwise fsyncs) a fresh temp file in `directory`, returning its
    /// path. Temp names start with `.tmp-` so garbage collection can remove ones a crash left
    /// behind.
    static func writeTemp(directory: String, _ bytes: [UInt8], sync: Bool = true) throws -> String {
        var suffix: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
        suffix = generator.next()
        let temp = "\(directory)/.tmp-\(getpid())-\(String(suffix, radix: 16))"
        guard let fd = try open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600) else { throw error("open", temp) }
        do {
            try closeAfter(fd) { fd in
                try writeAll(fd, temp, bytes)
                if sync { try fsync(fd, temp) }
            }
        } catch {
            try? unlink(temp)
            throw error
        }
        return temp
    }
}
