#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow

/// Whole-file replacement for files outside the state directory that the commands write (the
/// users file, the demo configuration's password file), with the state directory's own
/// atomic write (`Sys.atomicWrite`): a temp file beside the target, written and fsynced,
/// renamed over it, then an fsync of the directory. A crash at any instant leaves the old file
/// or the new one, never a torn or empty one; every write is checked.
public enum AtomicFile {
    /// Replaces (or creates) `path` with `bytes`. A new file gets `mode`; when `existing` is
    /// the file being replaced, its mode and owner are kept (the service user must still read
    /// it after root edits it). Throws a `FlowStorageError` naming the call, path and errno.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600, like existing: Glibc.stat? = nil) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let permissions = existing.map { Sys.Permissions(mode: $0.st_mode & 0o7777, owner: ($0.st_uid, $0.st_gid)) }
            ?? Sys.Permissions(mode: mode, owner: nil)
        try Sys.atomicWrite(directory: directory, name: name, bytes, permissions: permissions)
    }
}
