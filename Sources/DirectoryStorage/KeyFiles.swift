#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// The signing keys directory (`<state>/keys` or `tokens.keys_dir`): `<kid>.pem` files (0600)
/// and an `index` with one `kid alg created_ms retired_ms` line per key, replaced atomically
/// under `index.lock`. Workers notice a rotation by the index's modification time.
public final class KeyFiles: SigningKeyStorage {
    public let directory: String
    private var indexPath: String { "\(directory)/index" }
    private var lockPath: String { "\(directory)/index.lock" }

    /// Why the keys directory cannot be used, phrased for an operator.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Creates the directory (0700) if needed. An existing one must be a directory owned by the
    /// service user with no group or other permission bits: private keys that another user
    /// can read, or replace, sign tokens for them. Each refusal names the path and the fix.
    public var location: String { directory }

    public init(directory: String) throws {
        self.directory = directory
        try Sys.mkdir(directory, 0o700)
        try Self.check(directory, Sys.stat(directory), uid: geteuid())
    }

    /// The check `init` makes, given the directory's stat and the service's uid.
    public static func check(_ directory: String, _ st: Glibc.stat?, uid: uid_t) throws {
        guard let st else { throw Problem(description: "signing keys directory \(directory) cannot be read (stat failed); check the path in tokens.keys_dir") }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw Problem(description: "signing keys directory \(directory) exists but is not a directory; remove it or set tokens.keys_dir to a directory")
        }
        guard st.st_uid == uid else {
            throw Problem(description: "signing keys directory \(directory) is owned by uid \(st.st_uid), but devicegate runs as uid \(uid); chown it to the service user (chown -R <service user> \(directory))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw Problem(description: "signing keys directory \(directory) has mode \(String(st.st_mode & 0o777, radix: 8)), open to group or others; it must be 0700 (chmod 0700 \(directory))")
        }
    }

    /// Modification time of the index in nanoseconds, or nil if there is none yet.
    public func indexVersion() -> Int64? {
        guard let st = Sys.stat(indexPath) else { return nil }
        return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec) + Int64(st.st_ino) << 40
    }

    public func load() throws -> [StoredKey] {
        guard let bytes = try Sys.readFile(indexPath) else { return [] }
        var keys: [StoredKey] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 4, let created = Int64(parts[2]), let retired = Int64(parts[3]),
                  !parts[0].isEmpty, parts[0].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) else {
                throw FlowStorageError(.corrupt, "\(indexPath): bad line")
            }
            guard let pem = try Sys.readFile("\(directory)/\(parts[0]).pem") else {
                throw FlowStorageError(.corrupt, "\(directory)/\(parts[0]).pem is missing")
            }
            keys.append(StoredKey(kid: parts[0], alg: parts[1], createdAt: UnixTime(milliseconds: created),
                                  retiredAt: retired > 0 ? UnixTime(milliseconds: retired) : nil, pem: String(decoding: pem, as: UTF8.self)))
        }
        return keys
    }

    /// Adds `key` as the active key, retiring the current one at `now`, and drops keys retired
    /// before `forgetRetiredBefore` (their tokens have all expired). Under the index lock, so two
    /// concurrent rotations cannot lose a key.
    public func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?, onlyIfNone: Bool = false) throws -> Bool {
        let fd = try Sys.open(lockPath, O_RDWR | O_CREAT)
        return try Sys.closeAfter(fd) { fd in
            _ = try Sys.lockExclusive(fd, lockPath)
            var keys = try load()
            if onlyIfNone && !keys.isEmpty { return false }
            try Sys.atomicWrite(directory: directory, name: "\(key.kid).pem", Array(key.pem.utf8))
            keys = keys.map { k in var k = k; if k.retiredAt == nil { k.retiredAt = now }; return k }
            var dropped: [String] = []
            if let cutoff = forgetRetiredBefore {
                dropped = keys.filter { ($0.retiredAt ?? now) < cutoff }.map(\.kid)
                keys.removeAll { dropped.contains($0.kid) }
            }
            keys.append(key)
            let index = keys.map { "\($0.kid) \($0.alg) \($0.createdAt.milliseconds) \($0.retiredAt?.milliseconds ?? 0)\n" }.joined()
            try Sys.atomicWrite(directory: directory, name: "index", Array(index.utf8))
            for kid in dropped { try? Sys.unlink("\(directory)/\(kid).pem") }
            return true
        }
    }
}
