#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@testable import DirectoryStorage
@testable import HostFiles
import Testing

/// Authorization codes in the state directory: through `FlowService` (issue, redeem, replay),
/// and the file store's own promises: hashes only, private modes, nothing made for an
/// unknown code, a damaged record refused, collection and the layout of older directories.
struct AuthorizationCodeFileTests {
    static let redirectURI = "http://127.0.0.1:8400/callback"
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let client = ClientRegistration(
        clientID: "web", displayName: "Web app", kind: .public, allowedScopes: ScopeSet(["openid", "offline_access"]),
        defaultScopes: ScopeSet(["openid"]), grantTypes: [.authorizationCode, .refreshToken], redirectURIs: [redirectURI])

    func service(_ store: FileFlowStore) -> FlowService {
        FlowService(store: store, clients: ClientRegistry([Self.client]), policy: FlowPolicy(verificationURI: "https://auth.example.com/device"),
                    issuer: OpaqueTokenIssuer(accessTokenLifetime: 3600))
    }

    func issue(_ f: StoreFixture) throws -> String {
        let request = AuthorizationRequest(clientID: "web", redirectURI: Self.redirectURI, scope: ScopeSet(["openid", "offline_access"]),
                                           nonce: "n-0S6", codeChallenge: Encoding.base64URL(Encoding.sha256(Self.verifier)))
        return try service(f.store).issueAuthorizationCode(for: request, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
    }

    func code(_ f: StoreFixture, _ code: String) throws -> AuthorizationCodeRecord? {
        try f.store.updateAuthorizationCode(id: Encoding.sha256Hex(code)) { (nil, $0) }
    }

    /// RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
    /// server MUST deny the request and SHOULD revoke (when possible) all tokens previously
    /// issued based on that authorization code." The replay comes through another handle on
    /// the directory, as another worker's would.
    @Test func aReplayedCodeIsRefusedAndRevokesWhatItIssued() throws {
        let f = try StoreFixture()
        let issued = try issue(f)
        f.clock.advance(seconds: 5)
        guard case .tokens(let tokens) = try service(f.store).redeemAuthorizationCode(
            issued, client: Self.client, redirectURI: Self.redirectURI, codeVerifier: Self.verifier, now: f.clock.now()) else {
            Issue.record("the first redemption issued no tokens"); return
        }
        let record = try #require(try code(f, issued))
        #expect(record.redeemedAt == f.clock.now() && record.nonce == "n-0S6")
        let grant = try #require(record.issued)
        #expect(grant.accessToken.id == Encoding.sha256Hex(tokens.accessToken))
        let familyID = try #require(grant.refreshFamilyID, "offline_access earns a refresh token")
        #expect(try !f.store.isAccessTokenRevoked(id: grant.accessToken.id))

        let other = try FileFlowStore(directory: StateDirectory(root: f.root))
        f.clock.advance(seconds: 5)
        let replay = try service(other).redeemAuthorizationCode(issued, client: Self.client, redirectURI: Self.redirectURI,
                                                                codeVerifier: Self.verifier, now: f.clock.now())
        guard case .revoked(let error, let subject, let grantID, let reason) = replay else {
            Issue.record("the replay was answered \(replay)"); return
        }
        #expect(error.code == "invalid_grant" && subject == "alice" && grantID == record.id && reason == "authorization_code_reused")
        #expect(try f.store.isAccessTokenRevoked(id: grant.accessToken.id))
        #expect(try f.store.updateRefreshFamily(id: familyID) { (nil, $0?.revokedAt) } == f.clock.now())
        #expect(try code(f, issued) == record, "a replay changes nothing in the record")
    }

    /// Secrets only as hashes: neither the code nor the verifier is on disk, and every file
    /// of a code is 0600 in 0700 directories.
    @Test func aCodeIsStoredByItsHashWithPrivateModes() throws {
        let f = try StoreFixture()
        let issued = try issue(f)
        _ = try service(f.store).redeemAuthorizationCode(issued, client: Self.client, redirectURI: Self.redirectURI,
                                                         codeVerifier: Self.verifier, now: f.clock.now())
        let id = Encoding.sha256Hex(issued)
        let shard = "\(f.root)/authcodes/\(id.prefix(2))"
        #expect(regularFiles(under: shard).sorted() == ["\(shard)/\(id).authcode", "\(shard)/\(id).lock"])
        for path in f.files() {
            let text = String(decoding: f.read(path), as: UTF8.self)
            #expect(!text.contains(issued) && !text.contains(Self.verifier), "\(path) holds a secret in plaintext")
            #expect(Sys.stat(path)!.st_mode & 0o777 == 0o600, "\(path)")
        }
        for dir in ["\(f.root)/authcodes", shard] { #expect(Sys.stat(dir)!.st_mode & 0o777 == 0o700, "\(dir)") }
    }

    /// The token endpoint hashes whatever it is sent: a guessed code must cost no file.
    @Test func anUnknownCodeMakesNoFile() throws {
        let f = try StoreFixture()
        let before = f.files()
        for guess in ["", "x", randomCode(), randomCode()] {
            let answer = try service(f.store).redeemAuthorizationCode(guess, client: Self.client, redirectURI: Self.redirectURI,
                                                                      codeVerifier: Self.verifier, now: f.clock.now())
            #expect(answer == .error(.invalidGrant("unknown code")))
        }
        #expect(try f.store.updateAuthorizationCode(id: "../../pepper") { (nil, $0 == nil) })
        #expect(f.files() == before)
    }

    func randomCode() -> String { Encoding.base64URL(SystemSecureRandom().bytes(32)) }

    /// Every truncation of a record, and every garbled field, is `.corrupt`; through the store
    /// it is an error, never a crash or a record made up.
    @Test func aTruncatedOrGarbledRecordIsCorrupt() throws {
        var full = AuthorizationCodeRecord(id: String(repeating: "a", count: 64), clientID: "web", subject: "alice", scope: ScopeSet(["openid"]),
                                           authTime: UnixTime(seconds: 10), createdAt: UnixTime(seconds: 11), expiresAt: UnixTime(seconds: 71),
                                           redirectURI: Self.redirectURI, codeChallenge: "c", nonce: "n", redeemedAt: UnixTime(seconds: 12))
        full.issued = .init(accessToken: .init(id: "jti", expiresAt: UnixTime(seconds: 3612)), refreshFamilyID: "family")
        let bytes = RecordCoding.encode(full)
        #expect(try RecordCoding.decodeAuthorizationCode(bytes, path: "p") == full)
        // Without its last newline the file still ends with its `end` line; any shorter is cut.
        for length in 0..<(bytes.count - 1) {
            #expect(throws: FlowStorageError.self, "\(length) of \(bytes.count) bytes") {
                try RecordCoding.decodeAuthorizationCode(Array(bytes[0..<length]), path: "p")
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let garbled = [
            text.replacingOccurrences("expires_ms 71000", "expires_ms 71s"),
            text.replacingOccurrences("redeemed_ms 12000", "redeemed_ms twelve"),
            text.replacingOccurrences("nonce n", "nonce %G1"),
            text.replacingOccurrences("scope openid", "scope \"openid\""),
            text.replacingOccurrences("issued_access_id jti\n", ""),
            text.replacingOccurrences("issued_access_expires_ms 3612000\n", ""),
            text.replacingOccurrences("client_id web\n", ""),
            text.replacingOccurrences("devicegate-code 1", "devicegate-flow 1"),
        ]
        for variant in garbled {
            #expect(variant != text)
            let error = try #require(throws: FlowStorageError.self) { try RecordCoding.decodeAuthorizationCode(Array(variant.utf8), path: "p") }
            #expect(error.kind == .corrupt)
        }
        // Optional fields are omitted, not written empty: nil comes back nil.
        var bare = full
        bare.codeChallenge = nil; bare.nonce = nil; bare.redeemedAt = nil; bare.issued = nil
        let bareText = String(decoding: RecordCoding.encode(bare), as: UTF8.self)
        #expect(!bareText.contains("nonce") && !bareText.contains("code_challenge") && !bareText.contains("issued"))
        #expect(try RecordCoding.decodeAuthorizationCode(RecordCoding.encode(bare), path: "p") == bare)

        let f = try StoreFixture()
        let issued = try issue(f)
        let id = Encoding.sha256Hex(issued)
        let path = "\(f.root)/authcodes/\(id.prefix(2))/\(id).authcode"
        let whole = f.read(path)
        try Sys.atomicWrite(directory: "\(f.root)/authcodes/\(id.prefix(2))", name: "\(id).authcode", Array(whole.prefix(whole.count / 2)))
        let error = try #require(throws: FlowStorageError.self) {
            try service(f.store).redeemAuthorizationCode(issued, client: Self.client, redirectURI: Self.redirectURI,
                                                         codeVerifier: Self.verifier, now: f.clock.now())
        }
        #expect(error.kind == .corrupt)
        // Another code's record under this id is refused too.
        var foreign = try RecordCoding.decodeAuthorizationCode(whole, path: path)
        foreign.id = String(repeating: "b", count: 64)
        try Sys.atomicWrite(directory: "\(f.root)/authcodes/\(id.prefix(2))", name: "\(id).authcode", RecordCoding.encode(foreign))
        #expect(throws: FlowStorageError.self) { try code(f, issued) }
    }

    /// Collection counts codes as their own kind, leaves one whose lock is held (a redemption
    /// in progress) for the next pass, and removes lock files a crash left without a record.
    @Test func garbageCollectionCountsCodesAndSkipsABusyOne() throws {
        let f = try StoreFixture()
        let first = try issue(f), second = try issue(f)
        let now = f.clock.now().adding(seconds: Int64(AuthorizationCodes.lifetime) + AuthorizationCodeRecord.retentionAfterExpiry + 1)
        let busyID = Encoding.sha256Hex(second)
        let busyLock = "\(f.root)/authcodes/\(busyID.prefix(2))/\(busyID).lock"
        let orphanID = String(repeating: "c", count: 64)
        let orphan = "\(f.root)/authcodes/cc/\(orphanID).lock"
        try Sys.closeAfter(try Sys.open(orphan, O_RDWR | O_CREAT)) { _ in }
        var old = [timeval(tv_sec: Int(now.seconds) - 7200, tv_usec: 0), timeval(tv_sec: Int(now.seconds) - 7200, tv_usec: 0)]
        #expect(utimes(orphan, &old) == 0)

        // Closed once, by hand, below: a second close (a defer as well) would close whatever
        // descriptor another test's thread got the number for in between (it closed a
        // PostgreSQL connection's socket in CI).
        let held = try Sys.open(busyLock, O_RDWR)
        #expect(try Sys.lockExclusive(held, busyLock))
        let report = f.store.collectGarbage(now: now, retentionSeconds: 0, shards: 0..<StateDirectory.shardCount)
        #expect(report.authorizationCodes == 1 && report.busy == 1 && report.orphanLocks == 1, "\(report)")
        #expect(report.description.contains("1 authorization codes"))
        #expect(try code(f, first) == nil)
        #expect(Sys.stat(orphan) == nil)
        #expect(f.store.summary(now: now).authorizationCodes == 1)
        close(held)

        #expect(f.store.collectExpired(now: now, retentionSeconds: 0) == 1)
        #expect(try code(f, second) == nil)
        #expect(regularFiles(under: "\(f.root)/authcodes").isEmpty)
    }

    /// A directory made before codes existed gets their 256 shards at the next start.
    @Test func prepareAddsTheCodeShardsToAnOlderDirectory() throws {
        let f = try StoreFixture()
        for i in 0..<StateDirectory.shardCount { rmdir("\(f.root)/authcodes/\(StateDirectory.shardName(i))") }
        #expect(rmdir("\(f.root)/authcodes") == 0)
        try StateDirectory(root: f.root).prepare()
        for i in [0, 0x7f, 0xff] {
            let st = try #require(Sys.stat("\(f.root)/authcodes/\(StateDirectory.shardName(i))"))
            #expect(st.st_mode & 0o777 == 0o700)
        }
        let store = try FileFlowStore(directory: StateDirectory(root: f.root))
        let request = AuthorizationRequest(clientID: "web", redirectURI: Self.redirectURI, scope: ScopeSet(["openid"]))
        let issued = try service(store).issueAuthorizationCode(for: request, subject: "bob", authTime: f.clock.now(), now: f.clock.now())
        #expect(try code(f, issued)?.subject == "bob")
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var out = "", rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
