import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Files that hold secrets: the token file and the client secret file.
enum PrivateFile {
    /// Replaces `path` atomically with `data`, mode 0600 from the first byte: a temporary file
    /// beside it created with O_CREAT|O_EXCL and mode 0600, written, fsync-ed, renamed over
    /// `path`, then the directory fsync-ed. Never world-readable, never half written.
    static func replace(_ path: String, with data: Data) throws(LoginFailure) {
        let (directory, name) = split(path)
        let random = UInt64.random(in: 0...UInt64.max)
        let temporary = directory + "/." + name + "." + String(random, radix: 16) + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .localFile("cannot create \(temporary): \(errorText())") }
        var done = false
        defer {
            if !done { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            let written = data.withUnsafeBytes { buffer -> Bool in
                var offset = 0
                while offset < buffer.count {
                    let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return false }
                    offset += n
                }
                return true
            }
            guard written else { throw LoginFailure.localFile("cannot write \(temporary): \(errorText())") }
            guard fsync(fd) == 0 else { throw LoginFailure.localFile("cannot fsync \(temporary): \(errorText())") }
        } catch let failure as LoginFailure {
            throw failure
        } catch {
            throw .localFile("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else { throw .localFile("cannot rename \(temporary) to \(path): \(errorText())") }
        done = true
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Reads a file that holds a secret. Refuses one that others can read or write (mode & 077),
    /// as ssh does with keys: the secret may already have leaked, and the operator should know.
    static func read(_ path: String, what: String, failure: (String) -> LoginFailure) throws(LoginFailure) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open the \(what) \(path): \(errorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot stat the \(what) \(path): \(errorText())") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw failure("the \(what) \(path) is not a regular file") }
        guard info.st_mode & 0o077 == 0 else {
            throw failure("the \(what) \(path) is readable or writable by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it")
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw failure("cannot read the \(what) \(path): \(errorText())") }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
            guard data.count <= 1 << 20 else { throw failure("the \(what) \(path) is larger than 1 MiB") }
        }
        return data
    }

    /// `a/b/c` → (`a/b`, `c`); `c` → (`.`, `c`); `/c` → (`/`, `c`).
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
