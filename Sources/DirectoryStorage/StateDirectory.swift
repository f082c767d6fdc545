#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import HostFiles

/// The layout of the state directory shared by every worker of a host.
///
/// ```
/// <root>/                       0700, owned by the service user
///   VERSION                     "devicegate-state 1"
///   pepper                      32 random bytes keying the user-code index (0600)
///   flows/<xx>/<id>.flow        durable flow record (atomic replace)
///   flows/<xx>/polls            the shard's flow locks (OFD byte-range locks, one 512-byte
///                               bucket per lock) and soft poll state (FlowLockTable); sparse
///   flows/<xx>/<key>.code       user-code claim: a hard link to the flow's first record,
///                               created with link(2); <xx> is the key's first byte
///   flows/<xx>/<id>.lock        only from earlier versions (their per-flow lock); collected
///   flows/<xx>/claims.flock     flock target for replacing or removing claims; never removed
///   tokens/<xx>/<hash>.token    issued access tokens
///   refresh/<xx>/<hash>         refresh-token index: "<family id> <expires ms>"
///   families/<xx>/<id>.family   refresh-token family (rotation state); <id>.lock beside it
///   grants/<xx>/<sha256("subject " + name)>   a subject's families ("Your devices"):
///                               "<family id> <expires ms>" lines, appended (GrantIndex);
///                               <hash>.lock beside it, never renamed over; grants/indexed
///                               once the families of an older directory were indexed
///   revoked/<xx>/<sha256(jti)>  revoked access tokens: "<expires ms>"
///   authcodes/<xx>/<id>.authcode authorization code (RFC 6749 §4.1.2), by SHA-256 of the
///                               code; <id>.lock beside it, created with the record
///   keys/                       signing keys (unless tokens.keys_dir says otherwise)
///   web-secret                  32 random bytes keying CSRF tokens (0600)
///   sessions/<xx>/<hash>.session verification-page sessions, by SHA-256 of the session id
///   limits/<xx>/<hash>          failed-attempt counters (flock-ed in place, soft state)
///   admission/<xx>/<hash>       live pending flows per client and per address, by expiry
///                               bucket (FileAdmissionCounters; flock-ed in place, soft state)
///   metrics/slot-<n>            one process's counters, mmap-ed (see CounterPage)
///   metrics/census              flows by state per shard, kept by the garbage collector
///   slots/<pool>-<n>            empty files whose flock is a host-wide slot (password hashing)
///   journal/<window>.log        creation journal: new flows, group-committed (CreationJournal);
///   journal/<window>.synced     <window> is the creation minute; removed by the checkpoint
///   unknown-codes               unknown device codes per address and minute, until their
///                               audit line is written (FileUnknownCodeCounts; flock-ed table)
///   audit.jsonl                 the audit log, unless audit.file says otherwise
///   codes/<xx>/<key>            only in directories made by earlier versions: their user-code
///                               index ("<flow id> <expires ms>"), read until collected
/// ```
/// `<xx>` is the first two hex digits of the file's key: 256 shards per kind, created at
/// initialisation for flows, tokens, refresh, families, grants, revoked and authcodes, so no OAuth
/// request ever creates a directory, and garbage collection can walk one shard at a time.
public struct StateDirectory: Sendable {
    public let root: String
    public static let version = "devicegate-state 1"
    public static let shardCount = 256

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    static func shardName(_ index: Int) -> String {
        let s = String(index, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    static func shard(of key: String) -> String { String(key.prefix(2)) }

    func flowsShard(_ shard: String) -> String { "\(root)/flows/\(shard)" }
    var codesRoot: String { "\(root)/codes" }
    func codesShard(_ shard: String) -> String { "\(codesRoot)/\(shard)" }
    func tokensShard(_ shard: String) -> String { "\(root)/tokens/\(shard)" }
    func sessionsShard(_ shard: String) -> String { "\(root)/sessions/\(shard)" }
    func limitsShard(_ shard: String) -> String { "\(root)/limits/\(shard)" }
    func refreshShard(_ shard: String) -> String { "\(root)/refresh/\(shard)" }
    func familiesShard(_ shard: String) -> String { "\(root)/families/\(shard)" }
    func grantsShard(_ shard: String) -> String { "\(root)/grants/\(shard)" }
    func revokedShard(_ shard: String) -> String { "\(root)/revoked/\(shard)" }
    func authorizationCodesShard(_ shard: String) -> String { "\(root)/authcodes/\(shard)" }
    func admissionShard(_ shard: String) -> String { "\(root)/admission/\(shard)" }
    public var keysDirectory: String { "\(root)/keys" }
    var pepperPath: String { "\(root)/pepper" }
    var webSecretPath: String { "\(root)/web-secret" }

    /// The kinds whose 256 shards are all created up front (the flow hot path never creates a
    /// directory). Kinds added after a directory was first initialised are created on the next
    /// start. A kind counts as made once its `ff` shard exists, and `grants` once
    /// `grants/indexed` does (written after the families of an older directory are indexed).
    static let kinds = ["flows", "tokens", "refresh", "families", "grants", "revoked", "authcodes"]
    /// Kinds whose shards are created on first use: only the verification page writes them, at
    /// human pace, so one stat(2) per write is nothing and start-up stays fast.
    static let lazyKinds = ["sessions", "limits", "metrics", "admission"]

    /// Makes sure a lazily created shard exists.
    func ensureShard(_ path: String) throws {
        guard Sys.stat(path) == nil else { return }
        try Sys.mkdir(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
        try Sys.mkdir(path)
    }

    /// Why a state directory cannot be used, phrased for an operator.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Creates the layout if needed and checks it is safe to use: a directory, owned by the
    /// current user, not readable by group or others, writable. Every failure names the path
    /// and what to do, so a bad start fails at once and not on the first request.
    public func prepare() throws {
        if let st = Sys.stat(root) {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw Problem(description: "state directory \(root) exists but is not a directory") }
            guard st.st_uid == geteuid() else {
                throw Problem(description: "state directory \(root) is owned by uid \(st.st_uid), but devicegate runs as uid \(geteuid()); chown it to the service user")
            }
            guard st.st_mode & 0o077 == 0 else {
                throw Problem(description: "state directory \(root) has mode \(String(st.st_mode & 0o777, radix: 8)); it must be 0700 (chmod 0700 \(root))")
            }
        } else {
            do {
                try Sys.mkdir(root, 0o700)
            } catch let error as FlowStorageError {
                throw Problem(description: "cannot create state directory \(root): \(String(cString: strerror(error.errno ?? EIO)))")
            }
        }
        do {
            let fresh = try Sys.readFile("\(root)/VERSION") == nil
            for kind in Self.kinds where fresh || Sys.stat("\(root)/\(kind)/\(kind == "grants" ? "indexed" : "ff")") == nil {
                try Sys.mkdir("\(root)/\(kind)")
                for i in 0..<Self.shardCount { try Sys.mkdir("\(root)/\(kind)/\(Self.shardName(i))") }
                if kind == "grants" {
                    // A directory from before the grant index: its families are indexed before
                    // the kind counts as made, so a start cut short builds again (adding no
                    // duplicate). Families that workers of the older version write after this
                    // are added by garbage collection (`GrantIndex.ensureIndexed`).
                    if !fresh { try GrantIndex(directory: self).indexExistingFamilies() }
                    try Sys.atomicWrite(directory: "\(root)/grants", name: "indexed", [])
                }
            }
            // The flows' lock tables (`FlowLockTable`), empty and sparse until used, so that a
            // request never creates a file to take a lock (an unknown device code writes nothing).
            for i in 0..<Self.shardCount {
                let table = "\(flowsShard(Self.shardName(i)))/\(FlowLockTable.name)"
                if Sys.stat(table) == nil { Sys.close(try Sys.open(table, O_RDWR | O_CREAT)) }
            }
            for kind in Self.lazyKinds { try Sys.mkdir("\(root)/\(kind)") }
            try Sys.mkdir("\(root)/journal")
            for path in [pepperPath, webSecretPath] where try Sys.readFile(path) == nil {
                let temp = try Sys.writeTemp(directory: root, SystemSecureRandom().bytes(32))
                if try !Sys.linkIfAbsent(temp, path) { /* another process won the race */ }
                try Sys.unlink(temp)
            }
            if fresh {
                try Sys.atomicWrite(directory: root, name: "VERSION", Array((Self.version + "\n").utf8))
            }
            guard let version = try Sys.readFile("\(root)/VERSION"),
                  String(decoding: version, as: UTF8.self).hasPrefix(Self.version) else {
                throw Problem(description: "state directory \(root) has an unknown VERSION; expected \(Self.version)")
            }
            // Probe writability now rather than on the first request.
            let probe = try Sys.writeTemp(directory: root, [])
            try Sys.unlink(probe)
        } catch let error as FlowStorageError {
            throw Problem(description: "state directory \(root) is not usable: \(error.message)")
        }
    }

    /// The state filesystem's free blocks and inodes (one statvfs, about a microsecond), for
    /// the reserve (`StorageReserve`); nil when statvfs fails.
    public func filesystemReading() -> FilesystemReading? {
        guard let st = Sys.filesystemStatus(root) else { return nil }
        return FilesystemReading(blocksTotal: UInt64(st.f_blocks), blocksAvailable: UInt64(st.f_bavail),
                                 inodesTotal: UInt64(st.f_files), inodesAvailable: UInt64(st.f_favail))
    }

    func loadWebSecret() throws -> [UInt8] {
        guard let secret = try Sys.readFile(webSecretPath), secret.count == 32 else {
            throw FlowStorageError(.corrupt, "\(webSecretPath) is missing or not 32 bytes")
        }
        return secret
    }

    func loadPepper() throws -> [UInt8] {
        guard let pepper = try Sys.readFile(pepperPath), pepper.count == 32 else {
            throw FlowStorageError(.corrupt, "\(pepperPath) is missing or not 32 bytes")
        }
        return pepper
    }
}
