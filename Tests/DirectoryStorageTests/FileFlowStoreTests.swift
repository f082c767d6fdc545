#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import Testing

/// A store in a fresh temporary state directory, with the service over it.
final class StoreFixture {
    let temp = TemporaryDirectory()
    let store: FileFlowStore
    let clock = ManualClock()
    let client = testConfiguration().clients[0]
    let policy = FlowPolicy(verificationURI: "https://auth.example.com/device")
    lazy var service = FlowService(store: store, clients: testConfiguration().clientRegistry, policy: policy,
                                   issuer: OpaqueTokenIssuer(accessTokenLifetime: 3600))
    var root: String { temp.path + "/state" }

    init() throws {
        let directory = StateDirectory(root: temp.path + "/state")
        try directory.prepare()
        store = try FileFlowStore(directory: directory)
    }

    deinit { temp.remove() }

    func authorize() throws -> DeviceAuthorizationResponse {
        try service.authorizeDevice(client: client, scope: ScopeSet(["openid"]), now: clock.now())
    }

    /// A service over `store` (the fixture's own unless given: a reopened one), issuing
    /// 60 s opaque tokens and drawing codes from `random`.
    func makeService(over store: FileFlowStore? = nil, random: any SecureRandom = SystemSecureRandom()) -> FlowService {
        FlowService(store: store ?? self.store, clients: testConfiguration().clientRegistry, policy: policy,
                    issuer: OpaqueTokenIssuer(accessTokenLifetime: 60), random: random)
    }

    func files() -> [String] { regularFiles(under: root) }

    func read(_ path: String) -> [UInt8] {
        guard let f = fopen(path, "r") else { return [] }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true { let n = fread(&buf, 1, 4096, f); bytes += buf[0..<n]; if n < 4096 { break } }
        return bytes
    }
}

extension String {
    func trimmingNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}

struct FileDirectoryStorageTests {
    @Test func fullFlowThroughTheStore() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
        f.clock.advance(seconds: 1)
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.slowDown))
        // The grown interval (10 s) was persisted in the soft state: 6 s later is still too soon.
        f.clock.advance(seconds: 6)
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.slowDown))
        #expect(try f.service.approve(userCode: auth.userCode.lowercased(), subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get().clientID == "tv")
        guard case .tokens(let tokens) = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("no tokens"); return
        }
        #expect(tokens.scope == ScopeSet(["openid"]))
        let stored = try f.store.accessToken(hash: Encoding.sha256Hex(tokens.accessToken))
        #expect(stored?.subject == "alice")
        #expect(stored?.clientID == "tv")
        // Presented again: refused, and what it produced is revoked (RFC 6749 §4.1.2).
        let replay = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now())
        guard case .revoked(let error, "alice", _, "device_code_reused") = replay else { Issue.record("\(replay)"); return }
        #expect(error.code == "invalid_grant")
        #expect(try f.store.isAccessTokenRevoked(id: tokens.accessTokenID))
    }

    @Test func decisionsSurviveReopeningTheStore() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        _ = try f.service.deny(userCode: auth.userCode, now: f.clock.now())
        let reopened = try FileFlowStore(directory: StateDirectory(root: f.root))
        let service = f.makeService(over: reopened)
        #expect(try service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.accessDenied))
        #expect(try service.approve(userCode: auth.userCode, subject: "mallory", authTime: f.clock.now(), now: f.clock.now()) == .failure(.alreadyDenied))
    }

    @Test func codesAndTokensAreStoredOnlyAsHashesWithPrivateModes() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        guard case .tokens(let tokens) = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("no tokens"); return
        }
        let secrets = [auth.deviceCode, auth.userCode, auth.userCode.replacingDash(), tokens.accessToken]
        let files = f.files()
        #expect(files.count >= 5)
        for path in files {
            let text = String(decoding: f.read(path), as: UTF8.self)
            for secret in secrets { #expect(!text.contains(secret), "\(path) holds a secret in plaintext") }
            var st = stat()
            #expect(fstatat(AT_FDCWD, path, &st, 0) == 0)
            #expect(st.st_mode & 0o777 == 0o600, "\(path) has mode \(String(st.st_mode & 0o777, radix: 8))")
        }
        var st = stat()
        #expect(fstatat(AT_FDCWD, f.root, &st, 0) == 0 && st.st_mode & 0o777 == 0o700)
    }

    @Test func userCodeCollisionDrawsAnotherCodeButALiveOneIsNeverShared() throws {
        let f = try StoreFixture()
        let a = try f.authorize()
        let fixed = f.makeService(random: FixedUserCodeRandom())
        let b = try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        // FixedUserCodeRandom always draws BBBBBBBB; a second draw of it must fail, not share it.
        #expect(throws: FlowStorageError.self) { try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now()) }
        #expect(a.userCode != b.userCode)
        // Once the first holder has expired, the code may be reused, and the index moves.
        f.clock.advance(seconds: 601)
        let c = try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        #expect(c.userCode == b.userCode)
        _ = try f.service.approve(userCode: c.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect(try f.service.poll(deviceCode: b.deviceCode, client: f.client, now: f.clock.now()) == .error(.expiredToken))
        guard case .tokens = try f.service.poll(deviceCode: c.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("the new holder of the code was not the one approved"); return
        }
    }

    @Test func unknownAndMalformedCodesTouchNothing() throws {
        let f = try StoreFixture()
        let before = f.files().count
        for code in ["", "x", String(repeating: "A", count: 43), "../../etc/passwd", String(repeating: "z", count: 5000)] {
            #expect(try f.service.poll(deviceCode: code, client: f.client, now: f.clock.now()) == .error(.invalidGrant("unknown device_code")))
        }
        #expect(try f.service.approve(userCode: "BCDF-GHJK", subject: "a", authTime: f.clock.now(), now: f.clock.now()) == .failure(.unknownCode))
        #expect(f.files().count == before)
    }

    @Test func garbageCollectionRemovesExpiredFlowsAfterRetentionOnly() throws {
        let f = try StoreFixture()
        let expired = try f.authorize()
        _ = try f.service.approve(userCode: expired.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        guard case .tokens = try f.service.poll(deviceCode: expired.deviceCode, client: f.client, now: f.clock.now()) else { Issue.record("no tokens"); return }
        f.clock.advance(seconds: 3000)
        let live = try f.authorize()
        // Access token (1 h) not yet expired, flow expired but within retention: nothing goes.
        var report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.flows == 0 && report.tokens == 0)
        guard case .revoked = try f.service.poll(deviceCode: expired.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("a replay was not refused"); return
        }
        f.clock.advance(seconds: 1300)
        report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        // The access token's record and the revocation the replay wrote, both past its expiry.
        #expect(report.flows == 1 && report.codes == 1 && report.tokens == 2)
        #expect(f.files().filter { $0.hasSuffix(".flow") }.count == 1)
        #expect(try f.service.poll(deviceCode: live.deviceCode, client: f.client, now: f.clock.now()) == .error(.expiredToken))
    }

    @Test func leftoversOfACrashAreHarmlessAndCollected() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        let shard = "\(f.root)/flows/\(id.prefix(2))"
        // A temp file from a write that died before rename, dated an hour ago.
        let temp = "\(shard)/.tmp-99999-dead"
        let file = fopen(temp, "w")!
        fputs("devicegate-flow 1\nid half-writ", file)
        fclose(file)
        var times = [timespec(tv_sec: Int(f.clock.now().seconds) - 3600, tv_nsec: 0), timespec(tv_sec: Int(f.clock.now().seconds) - 3600, tv_nsec: 0)]
        utimensat(AT_FDCWD, temp, &times, 0)
        // Lost soft state (power loss before writeback): the poll starts it again.
        truncate("\(shard)/polls", 0)
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
        f.clock.advance(seconds: 1)
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.slowDown))
        let report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.temporaryFiles == 1)
        #expect(access(temp, F_OK) != 0)
    }

    @Test func corruptRecordIsAnErrorNotACrash() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        // The record replaced by a torn one (a new inode: the claim keeps the first version).
        let path = "\(f.root)/flows/\(id.prefix(2))/\(id).flow"
        let file = fopen(path + ".torn", "w")!
        fputs("devicegate-flow 1\nid \(id)\n", file) // no end line
        fclose(file)
        rename(path + ".torn", path)
        // A pending flow's polls are answered from its lock-table slot; the approval reads the record.
        #expect(throws: FlowStorageError.self) {
            try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        }
        // Without the slot (a reboot empties the table), the poll reads the record too.
        truncate("\(f.root)/flows/\(id.prefix(2))/polls", 0)
        #expect(throws: FlowStorageError.self) { try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) }
    }

    @Test func prepareRefusesAnUnsafeStateDirectory() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let path = temp.path + "/open"
        mkdir(path, 0o755)
        chmod(path, 0o755)
        #expect { try StateDirectory(root: path).prepare() } throws: { "\($0)".contains("0700") }
        let file = temp.path + "/file"
        fclose(fopen(file, "w"))
        #expect { try StateDirectory(root: file).prepare() } throws: { "\($0)".contains("not a directory") }
    }
}

extension String {
    func replacingDash() -> String { filter { $0 != "-" } }
}
