#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSupport
import DeviceFlow

/// The syscalls of the state directory, each retried on EINTR and mapped to a
/// `FlowStorageError` that keeps the call, the path and errno (one factory, `error`, as
/// NIOFileSystem's `FileSystemError+Syscall.swift`). This file is the only place that makes
/// them, and each consults `SyscallFaults` first, so tests can make any of them fail.
package enum Sys {
    /// The error for `call` on `path` failing with `code`: `.noSpace` for a full disk or
    /// quota (ENOSPC, EDQUOT), `.io` otherwise. The message reads "<call> <path>: <strerror>".
    package static func error(_ call: String, _ path: String, _ code: Int32 = errno) -> FlowStorageError {
        let text = String(cString: strerror(code))
        let kind: FlowStorageError.Kind = code == ENOSPC || code == EDQUOT ? .noSpace : .io
        return FlowStorageError(kind, "\(call) \(path): \(text)", call: call, path: path, errno: code)
    }

    /// The injected errno for `call` on `path`, if a test asked for one (`SyscallFaults`).
    @inline(__always)
    private static func fault(_ call: String, _ path: String) -> Int32? {
        SyscallFaults.check(call, path)
    }

    /// open(2), with O_CLOEXEC. Every failure throws, ENOENT included: use `openIfExists`
    /// where a missing file is normal.
    package static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws -> Int32 {
        guard let fd = try open(path, flags, mode, missingOK: false) else { throw error("open", path, ENOENT) }
        return fd
    }

    /// open(2), with O_CLOEXEC; nil when the file does not exist (ENOENT).
    package static func openIfExists(_ path: String, _ flags: Int32, _ mode: mode_t = 0o600) throws -> Int32? {
        try open(path, flags, mode, missingOK: true)
    }

    private static func open(_ path: String, _ flags: Int32, _ mode: mode_t, missingOK: Bool) throws -> Int32? {
        if let code = fault("open", path) {
            if missingOK && code == ENOENT { return nil }
            throw error("open", path, code)
        }
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if missingOK && errno == ENOENT { return nil }
            throw error("open", path)
        }
    }

    package static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Runs `body` with the descriptor and closes it on every path.
    package static func closeAfter<T>(_ fd: Int32, _ body: (Int32) throws -> T) rethrows -> T {
        defer { close(fd) }
        return try body(fd)
    }

    /// flock(2) exclusive. Locks belong to the open file description, so they vanish when the
    /// process dies, SIGKILL included: no lock is ever left held by a dead worker.
    package static func lockExclusive(_ fd: Int32, _ path: String, wait: Bool = true) throws -> Bool {
        if let code = fault("flock", path) {
            if !wait && code == EWOULDBLOCK { return false }
            throw error("flock", path, code)
        }
        while true {
            if flock(fd, wait ? LOCK_EX : (LOCK_EX | LOCK_NB)) == 0 { return true }
            if errno == EINTR { continue }
            if !wait && errno == EWOULDBLOCK { return false }
            throw error("flock", path)
        }
    }

    /// Runs `body` holding the flock of `fd`, released on every path (the descriptor stays open).
    package static func withExclusiveLock<T>(_ fd: Int32, _ path: String, _ body: () throws -> T) throws -> T {
        _ = try lockExclusive(fd, path)
        defer { unlock(fd) }
        return try body()
    }

    /// flock(2) LOCK_UN. It cannot fail on a descriptor that is open; closing it unlocks too.
    package static func unlock(_ fd: Int32) { _ = flock(fd, LOCK_UN) }

    package static func lockShared(_ fd: Int32, _ path: String) throws {
        if let code = fault("flock", path) { throw error("flock", path, code) }
        while true {
            if flock(fd, LOCK_SH) == 0 { return }
            if errno == EINTR { continue }
            throw error("flock", path)
        }
    }

    /// Reads the whole file (small state files only), up to `limit` bytes.
    package static func readAll(_ fd: Int32, _ path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        if let code = fault("read", path) { throw error("read", path, code) }
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
    package static func readFile(_ path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard let fd = try openIfExists(path, O_RDONLY) else { return nil }
        return try closeAfter(fd) { try readAll($0, path, limit: limit) }
    }

    package static func pread(_ fd: Int32, _ path: String, count: Int, offset: off_t) throws -> [UInt8] {
        if let code = fault("pread", path) { throw error("pread", path, code) }
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, count, offset) }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == EINTR { continue }
            throw error("pread", path)
        }
    }

    package static func pwriteAll(_ fd: Int32, _ path: String, _ bytes: [UInt8], offset: off_t) throws {
        var done = 0
        while done < bytes.count {
            if let code = fault("pwrite", path) { throw error("pwrite", path, code) }
            let n = bytes.withUnsafeBytes { Glibc.pwrite(fd, $0.baseAddress! + done, bytes.count - done, offset + off_t(done)) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw error("pwrite", path)
        }
    }

    package static func writeAll(_ fd: Int32, _ path: String, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            if let code = fault("write", path) { throw error("write", path, code) }
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw error("write", path)
        }
    }

    package static func fsync(_ fd: Int32, _ path: String) throws {
        if let code = fault("fsync", path) { throw error("fsync", path, code) }
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw error("fsync", path)
        }
    }

    package static func fdatasync(_ fd: Int32, _ path: String) throws {
        if let code = fault("fdatasync", path) { throw error("fdatasync", path, code) }
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw error("fdatasync", path)
        }
    }

    package static func fstat(_ fd: Int32, _ path: String) throws -> Glibc.stat {
        if let code = fault("fstat", path) { throw error("fstat", path, code) }
        var st = Glibc.stat()
        guard Glibc.fstat(fd, &st) == 0 else { throw error("fstat", path) }
        return st
    }

    /// fchmod(2) and, when `owner` is given, fchown(2). A chown to another user that fails
    /// with EPERM is not an error unless the process runs as root (only root may give a file
    /// away; anyone else's file is theirs already or cannot be made so).
    package static func setPermissions(_ fd: Int32, _ path: String, mode: mode_t, owner: (uid: uid_t, gid: gid_t)?) throws {
        if let code = fault("fchmod", path) { throw error("fchmod", path, code) }
        guard Glibc.fchmod(fd, mode) == 0 else { throw error("fchmod", path) }
        if let owner {
            if let code = fault("fchown", path) { throw error("fchown", path, code) }
            if Glibc.fchown(fd, owner.uid, owner.gid) != 0 && geteuid() == 0 { throw error("fchown", path) }
        }
    }

    /// mmap(2) of `size` bytes of `fd`, shared, read and write.
    package static func mapShared(_ fd: Int32, _ path: String, size: Int) throws -> UnsafeMutableRawPointer {
        if let code = fault("mmap", path) { throw error("mmap", path, code) }
        guard let raw = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), raw != MAP_FAILED else {
            throw error("mmap", path)
        }
        return raw
    }

    /// munmap(2) of a mapping made by `mapShared`; it fails only for a range that is not one.
    package static func unmap(_ base: UnsafeMutableRawPointer, size: Int) { _ = munmap(base, size) }

    /// One write(2) of a whole frame to a descriptor opened with O_APPEND, so that frames of
    /// concurrent writers never interleave; returns the offset where it ends. A short write
    /// (a full disk) is an error: the part written is a torn frame that readers skip.
    package static func appendFrame(_ fd: Int32, _ path: String, _ frame: [UInt8]) throws -> off_t {
        if let code = fault("write", path) { throw error("write", path, code) }
        while true {
            let n = frame.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n == frame.count { break }
            if n < 0 && errno == EINTR { continue }
            throw error("write", path, n < 0 ? errno : ENOSPC)
        }
        if let code = fault("lseek", path) { throw error("lseek", path, code) }
        let end = lseek(fd, 0, SEEK_CUR)
        guard end >= 0 else { throw error("lseek", path) }
        return end
    }

    /// syncfs(2) of the filesystem that holds `path`.
    package static func syncFilesystem(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        try closeAfter(fd) { fd in
            if let code = fault("syncfs", path) { throw error("syncfs", path, code) }
            while dg_syncfs(fd) != 0 {
                if errno == EINTR { continue }
                throw error("syncfs", path)
            }
        }
    }

    /// fsync of a directory, which makes a rename or unlink inside it durable.
    package static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        try closeAfter(fd) { try fsync($0, path) }
    }

    package static func rename(_ from: String, _ to: String) throws {
        if let code = fault("rename", to) { throw error("rename", to, code) }
        if Glibc.rename(from, to) != 0 { throw error("rename", to) }
    }

    /// link(2): publishes `from` under `to` only if `to` does not exist. Returns false on EEXIST.
    package static func linkIfAbsent(_ from: String, _ to: String) throws -> Bool {
        if let code = fault("link", to) {
            if code == EEXIST { return false }
            throw error("link", to, code)
        }
        if Glibc.link(from, to) == 0 { return true }
        if errno == EEXIST { return false }
        throw error("link", to)
    }

    /// unlink(2); a missing file is not an error.
    package static func unlink(_ path: String) throws {
        if let code = fault("unlink", path), code != ENOENT { throw error("unlink", path, code) }
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw error("unlink", path) }
    }

    /// mkdir(2); one that exists already is not an error.
    package static func mkdir(_ path: String, _ mode: mode_t = 0o700) throws {
        if let code = fault("mkdir", path), code != EEXIST { throw error("mkdir", path, code) }
        if Glibc.mkdir(path, mode) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    /// rmdir(2), for a directory that is no longer used; one that is not empty (or is gone)
    /// stays as it is.
    package static func removeDirectoryIfEmpty(_ path: String) {
        if fault("rmdir", path) != nil { return }
        _ = Glibc.rmdir(path)
    }

    /// stat(2); nil when it fails (the file is missing, mostly).
    package static func stat(_ path: String) -> Glibc.stat? {
        if fault("stat", path) != nil { return nil }
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
    }

    /// lstat(2): the link itself, not what it points at.
    package static func lstat(_ path: String) -> Glibc.stat? {
        if fault("lstat", path) != nil { return nil }
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// statvfs(3): nil when it fails (EINTR retried).
    /// (Unqualified, as with flock: `Glibc.statvfs` names the struct.)
    package static func filesystemStatus(_ path: String) -> Glibc.statvfs? {
        if fault("statvfs", path) != nil { return nil }
        var st = Glibc.statvfs()
        while true {
            if statvfs(path, &st) == 0 { return st }
            if errno != EINTR { return nil }
        }
    }

    /// Names in a directory, without `.` and `..`.
    package static func listDirectory(_ path: String) throws -> [String] {
        if let code = fault("opendir", path) { throw error("opendir", path, code) }
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

    /// Names in a directory, without `.` and `..`, each with its mtime from fstatat(2) on the
    /// open directory (no symlink followed, nothing opened or read); nil for a name that
    /// vanished or could not be statted between the two.
    package static func listDirectoryWithModificationTimes(_ path: String) throws -> [(name: String, modified: timespec?)] {
        if let code = fault("opendir", path) { throw error("opendir", path, code) }
        guard let dir = opendir(path) else { throw error("opendir", path) }
        defer { closedir(dir) }
        let dirFD = dirfd(dir)
        var entries: [(name: String, modified: timespec?)] = []
        var st = Glibc.stat()
        while let entry = readdir(dir) {
            let (name, ok) = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { (String(cString: $0), fstatat(dirFD, $0, &st, AT_SYMLINK_NOFOLLOW) == 0) }
            }
            if name == "." || name == ".." { continue }
            entries.append((name, ok && fault("stat", name) == nil ? st.st_mtim : nil))
        }
        return entries
    }

    /// A file's mode and, optionally, owner, set on a temp file before it replaces another.
    package struct Permissions {
        var mode: mode_t
        var owner: (uid: uid_t, gid: gid_t)?
    }

    /// Writes `bytes` to `directory/name` atomically: a temp file in the same directory,
    /// fsync, rename over the target, then (optionally) fsync of the directory. A crash at any
    /// instant leaves either the old file or the new one, never a torn one.
    /// `modificationTime`, when given, is set on the temp file before it is fsynced and renamed
    /// (`writeTemp`).
    package static func atomicWrite(directory: String, name: String, _ bytes: [UInt8], syncDirectory: Bool = true,
                            permissions: Permissions? = nil, modificationTime: timespec? = nil) throws {
        let temp = try writeTemp(directory: directory, bytes, permissions: permissions, modificationTime: modificationTime)
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
    /// behind. The file is 0600 unless `permissions` say otherwise.
    ///
    /// `modificationTime`, when given, becomes the file's mtime (futimens(2), after the write
    /// and before the fsync, so it is as durable as the bytes): garbage collection reads an
    /// expiry stamped there without opening the file. It is best effort: a filesystem that
    /// refuses it leaves the write time, which readers of the stamp take as no stamp.
    package static func writeTemp(directory: String, _ bytes: [UInt8], sync: Bool = true, permissions: Permissions? = nil,
                                  modificationTime: timespec? = nil) throws -> String {
        var suffix: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
        suffix = generator.next()
        let temp = "\(directory)/.tmp-\(getpid())-\(String(suffix, radix: 16))"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        do {
            try closeAfter(fd) { fd in
                try writeAll(fd, temp, bytes)
                if let permissions { try setPermissions(fd, temp, mode: permissions.mode, owner: permissions.owner) }
                if let modificationTime, fault("futimens", temp) == nil {
                    // atime left as it is (UTIME_OMIT, not imported by Swift); the mtime is the stamp.
                    var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), modificationTime]
                    _ = futimens(fd, &times)
                }
                if sync { try fsync(fd, temp) }
            }
        } catch {
            try? unlink(temp)
            throw error
        }
        return temp
    }
}
