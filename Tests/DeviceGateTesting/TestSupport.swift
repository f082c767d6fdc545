#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import Observability

/// A clock the test moves by hand.
public final class ManualClock: WallClock, @unchecked Sendable {
    private var current: UnixTime
    public init(_ start: UnixTime = UnixTime(seconds: 1_800_000_000)) { current = start }
    public func now() -> UnixTime { current }
    public func advance(seconds: Int64) { current = current.adding(seconds: seconds) }
    public func advance(milliseconds: Int64) { current = current.adding(milliseconds: milliseconds) }
}

/// Deterministic "randomness" for tests that need predictable codes (SplitMix64).
public final class SeededRandom: SecureRandom, @unchecked Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    private func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
    public func uniform(_ upperBound: Int) -> Int { Int(next() % UInt64(upperBound)) }
}

/// Always draws the same user code (to force collisions) but fresh device codes.
public final class FixedUserCodeRandom: SecureRandom, @unchecked Sendable {
    private let inner = SeededRandom(seed: 42)
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] { inner.bytes(count) }
    public func uniform(_ upperBound: Int) -> Int { 0 }
}

/// A fresh 0700 temporary directory, removed by `remove()`.
public struct TemporaryDirectory {
    public let path: String
    public init() {
        var template = Array("/tmp/devicegate-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }
    public func remove() {
        // nftw-free recursive removal: the tree is ours and shallow.
        if let pid = spawnProcess(["/bin/rm", "-rf", path], outputPath: "/dev/null") { _ = waitForExit(pid) }
    }
}

/// The configuration most tests start from.
public func testConfiguration(stateDirectory: String = "/tmp/unused") -> DeviceGateConfiguration {
    var config = DeviceGateConfiguration()
    config.issuer = "https://auth.example.com/application/o/devicegate/"
    config.stateDirectory = stateDirectory
    config.clients = [
        ClientRegistration(clientID: "tv", displayName: "Living-room TV", kind: .public,
                           allowedScopes: ScopeSet(["openid", "profile", "email"]), defaultScopes: ScopeSet(["openid"])),
        ClientRegistration(clientID: "other-tv", displayName: "Other TV", kind: .public,
                           allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"])),
        ClientRegistration(clientID: "cli", displayName: "CLI", kind: .confidential(secretSHA256: Encoding.sha256("s3cret-s3cret")),
                           allowedScopes: ScopeSet(["openid", "email"]), defaultScopes: ScopeSet(["openid"])),
    ]
    return config
}

/// Starts `arguments[0]` with the rest as argv, stdout to `outputPath`, with an empty signal
/// mask and default dispositions (a test runner may block SIGCHLD), and returns its pid.
public func spawnProcess(_ arguments: [String], outputPath: String) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0 else { return nil }
    return pid
}

/// Waits for a child; returns its exit status, or -1 if it was killed by a signal.
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 { if errno != EINTR { return -1 } }
    return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
}

/// Every regular file under `root`, recursively.
public func regularFiles(under root: String) -> [String] {
    guard let dir = opendir(root) else { return [] }
    defer { closedir(dir) }
    var out: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        let path = root + "/" + name
        if entry.pointee.d_type == UInt8(DT_DIR) { out += regularFiles(under: path) } else { out.append(path) }
    }
    return out
}

/// An audit sink that keeps the events, for tests that check what the audit log would say.
public final class RecordingAuditSink: AuditSink, @unchecked Sendable {
    public private(set) var events: [AuditEvent] = []
    public var failing = false
    public init() {}
    public func write(_ event: AuditEvent) throws {
        if failing { throw FlowStorageError(.noSpace, "write audit.jsonl: No space left on device") }
        events.append(event)
    }
    public func kinds() -> [AuditEvent.Kind] { events.map(\.kind) }
    public func lines() -> [String] { events.map { String(decoding: $0.jsonLine(), as: UTF8.self) } }
}
