#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@testable import DirectoryStorage
import Testing

/// How a new flow is laid out (one record file under two names), what a crash in the
/// middle of `createFlow` can leave, and state directories from before claims moved.
struct UserCodeClaimTests {
    func inode(_ path: String) -> stat? {
        var st = stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
    }

    func write(_ path: String, _ text: String) {
        let file = fopen(path, "w")!
        fputs(text, file)
        fclose(file)
    }

    @Test func aNewFlowIsOneRecordFileUnderTwoNames() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        let key = f.store.userCodeKey(forCanonicalUserCode: auth.userCode.replacingDash())
        let dir = "\(f.root)/flows/\(id.prefix(2))"
        let record = inode("\(dir)/\(id).flow"), claim = inode("\(f.root)/flows/\(key.prefix(2))/\(key).code")
        #expect(record != nil && claim != nil)
        #expect(record?.st_ino == claim?.st_ino && record?.st_nlink == 2, "the claim is a hard link to the record")
        #expect(inode("\(f.root)/codes") == nil, "a new state directory has no separate user-code index")
        #expect(f.files().filter { $0.contains("/.tmp-") }.isEmpty)
        #expect(try f.store.flowID(forUserCodeKey: key) == id)

        // An approval replaces the record; the claim keeps the first version and still leads to it.
        _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        #expect(inode("\(dir)/\(id).flow")?.st_ino != claim?.st_ino)
        #expect(try f.store.flowID(forUserCodeKey: key) == id)
        #expect(try f.service.approve(userCode: auth.userCode, subject: "bob", authTime: f.clock.now(), now: f.clock.now()) == .failure(.alreadyApproved))
    }

    @Test func aClaimWithoutItsRecordHoldsTheCodeUntilItExpiresThenIsCollected() throws {
        let f = try StoreFixture()
        let fixed = f.makeService(random: FixedUserCodeRandom())
        let auth = try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        let id = Encoding.sha256Hex(auth.deviceCode)
        // What a crash between the claim's link(2) and the record's rename leaves: the claim,
        // and a temp file (here already swept).
        unlink("\(f.root)/flows/\(id.prefix(2))/\(id).flow")
        #expect(try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()) == .failure(.unknownCode))
        #expect(throws: FlowStorageError.self) { try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now()) }
        // Expired, it is replaced by the next flow that draws the code ...
        f.clock.advance(seconds: 601)
        let next = try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        #expect(next.userCode == auth.userCode)
        #expect(try f.service.approve(userCode: next.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get().id == Encoding.sha256Hex(next.deviceCode))
        // ... and an orphan nobody replaced is collected once a flow would be.
        let orphan = try f.authorize()
        let orphanID = Encoding.sha256Hex(orphan.deviceCode)
        let orphanKey = f.store.userCodeKey(forCanonicalUserCode: orphan.userCode.replacingDash())
        unlink("\(f.root)/flows/\(orphanID.prefix(2))/\(orphanID).flow")
        f.clock.advance(seconds: 600 + 3599)
        _ = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(inode("\(f.root)/flows/\(orphanKey.prefix(2))/\(orphanKey).code") != nil)
        f.clock.advance(seconds: 2)
        let report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.codes >= 1)
        #expect(inode("\(f.root)/flows/\(orphanKey.prefix(2))/\(orphanKey).code") == nil)
    }

    @Test func aFlowWhoseIDIsInAnotherShardIsStillFoundAndCollected() throws {
        let f = try StoreFixture()
        let key = f.store.userCodeKey(forCanonicalUserCode: "BCDFGHJK")
        var id = Encoding.sha256Hex("some device code")
        if id.prefix(2) == key.prefix(2) { id = Encoding.sha256Hex("another device code") }
        let now = f.clock.now()
        try f.store.createFlow(DeviceFlowRecord(id: id, userCodeKey: key, clientID: "tv", scope: ScopeSet(["openid"]),
                                                createdAt: now, expiresAt: now.adding(seconds: 600), interval: 5))
        #expect(inode("\(f.root)/flows/\(key.prefix(2))/\(key).code") != nil)
        #expect(try f.store.flowID(forUserCodeKey: key) == id)
        #expect(try f.store.updateFlow(id: id) { record, _ in FlowUpdate(result: record?.userCodeKey) } == key)
        f.clock.advance(seconds: 600 + 3601)
        let report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.flows == 1 && report.codes == 1)
        #expect(f.files().filter { $0.hasSuffix(".flow") || $0.hasSuffix(".code") }.isEmpty)
    }

    /// A state directory from before claims moved beside the flows: its `codes/` entries are
    /// still found, still hold their codes, and are collected, and `codes/` goes with the last.
    @Test func anOlderUserCodeIndexIsReadHonouredAndCollected() throws {
        let f = try StoreFixture()
        let fixed = f.makeService(random: FixedUserCodeRandom())
        let auth = try fixed.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
        let id = Encoding.sha256Hex(auth.deviceCode)
        let key = f.store.userCodeKey(forCanonicalUserCode: auth.userCode.replacingDash())
        // Rewrite it as an earlier version stored it.
        unlink("\(f.root)/flows/\(key.prefix(2))/\(key).code")
        mkdir("\(f.root)/codes", 0o700)
        for i in 0..<256 { mkdir("\(f.root)/codes/\(StateDirectory.shardName(i))", 0o700) }
        write("\(f.root)/codes/\(key.prefix(2))/\(key)", "\(id) \(f.clock.now().adding(seconds: 600).milliseconds)\n")

        let reopened = try FileFlowStore(directory: StateDirectory(root: f.root))
        let service = f.makeService(over: reopened, random: FixedUserCodeRandom())
        #expect(try reopened.flowID(forUserCodeKey: key) == id)
        #expect(throws: FlowStorageError.self) { try service.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now()) }
        #expect(inode("\(f.root)/flows/\(key.prefix(2))/\(key).code") == nil, "the refused claim was taken back")
        #expect(try service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get().id == id)

        f.clock.advance(seconds: 600 + 3601)
        let report = reopened.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: 0..<256)
        #expect(report.flows == 1 && report.codes == 1)
        #expect(inode("\(f.root)/codes") == nil, "the emptied index of the earlier version is removed")
        _ = try service.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: f.clock.now())
    }
}
