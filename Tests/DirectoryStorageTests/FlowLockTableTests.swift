#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@_spi(Testing) @testable import DirectoryStorage
@_spi(Testing) @testable import HostFiles
import Testing

/// The flows' lock table (`FlowLockTable`): one OFD-locked bucket per flow, soft poll state in
/// 32-byte slots, no file per flow.
struct FlowLockTableTests {
    /// An id in shard `shard`, bucket `bucket`, with the tag made from `n`.
    func id(shard: UInt8, bucket: Int, _ n: UInt8) -> String {
        var bytes = [UInt8](repeating: n, count: 32)
        bytes[0] = shard
        bytes[1] = UInt8(bucket >> 8)
        bytes[2] = UInt8(bucket & 0xff)
        return Encoding.hex(bytes)
    }

    func state(_ table: FlowLockTable, _ id: String) throws -> PollState? {
        try table.withLock(id: id) { try $0.pollState() } ?? nil
    }

    @Test func aPlaceIsTheShardTheBucketAndSixteenBytesOfTag() throws {
        let place = try #require(FlowLockTable.place(of: id(shard: 0xab, bucket: 300, 9)))
        #expect(place.shard == 0xab && place.bucket == 300 && place.tag.count == 16 && place.tag[0] == 1 && place.tag[2] == 9)
        #expect(FlowLockTable.place(of: "not hex") == nil)
    }

    @Test func softStateRoundTripsPerFlowWithinOneBucket() throws {
        let f = try StoreFixture()
        let table = FlowLockTable(directory: f.store.directory)
        let a = id(shard: 7, bucket: 3, 1), b = id(shard: 7, bucket: 3, 2)
        _ = try table.withLock(id: a) { bucket in #expect(try bucket.pollState() == nil); try bucket.setPollState(PollState(lastPollAt: UnixTime(milliseconds: 10), interval: 10), now: UnixTime(milliseconds: 1)) }
        _ = try table.withLock(id: b) { bucket in #expect(try bucket.pollState() == nil); try bucket.setPollState(PollState(lastPollAt: UnixTime(milliseconds: 20), interval: 5), now: UnixTime(milliseconds: 1)) }
        // Another handle (another open file description, as another worker has) reads both.
        let other = FlowLockTable(directory: f.store.directory)
        #expect(try state(other, a) == PollState(lastPollAt: UnixTime(milliseconds: 10), interval: 10))
        #expect(try state(other, b) == PollState(lastPollAt: UnixTime(milliseconds: 20), interval: 5))
        _ = try other.withLock(id: a) { try $0.forget() }
        #expect(try state(table, a) == nil)
        #expect(try state(table, b) != nil)
    }

    @Test func aFullBucketGivesTheSlotPolledLongestAgo() throws {
        let f = try StoreFixture()
        let table = FlowLockTable(directory: f.store.directory)
        let ids = (0..<UInt8(FlowLockTable.slotsPerBucket)).map { id(shard: 1, bucket: 5, $0 + 1) }
        for (i, flow) in ids.enumerated() {
            // Flow 3 was polled longest ago.
            let at = i == 3 ? 1 : 1000 + Int64(i)
            _ = try table.withLock(id: flow) { try $0.setPollState(PollState(lastPollAt: UnixTime(milliseconds: at), interval: 5), now: UnixTime(milliseconds: 1)) }
        }
        let newcomer = id(shard: 1, bucket: 5, 200)
        _ = try table.withLock(id: newcomer) { try $0.setPollState(PollState(lastPollAt: UnixTime(milliseconds: 5000), interval: 5), now: UnixTime(milliseconds: 1)) }
        #expect(try state(table, newcomer)?.lastPollAt == UnixTime(milliseconds: 5000))
        #expect(try state(table, ids[3]) == nil, "the oldest gave its slot")
        for (i, flow) in ids.enumerated() where i != 3 {
            #expect(try state(table, flow)?.lastPollAt == UnixTime(milliseconds: 1000 + Int64(i)))
        }
    }

    @Test func aTornSlotReadsAsNoStateAndIsReused() throws {
        let f = try StoreFixture()
        let table = FlowLockTable(directory: f.store.directory)
        let a = id(shard: 2, bucket: 0, 1)
        _ = try table.withLock(id: a) { try $0.setPollState(PollState(lastPollAt: UnixTime(milliseconds: 77), interval: 10), now: UnixTime(milliseconds: 1)) }
        // Flip one byte of the slot's interval, as a torn write would.
        let path = table.path(shard: 2)
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0xff
        _ = pwrite(fd, &byte, 1, off_t(FlowLockTable.headerSize + 48))
        close(fd)
        #expect(try state(table, a) == nil)
        _ = try table.withLock(id: a) { try $0.setPollState(PollState(lastPollAt: UnixTime(milliseconds: 88), interval: 5), now: UnixTime(milliseconds: 1)) }
        #expect(try state(table, a) == PollState(lastPollAt: UnixTime(milliseconds: 88), interval: 5))
    }

    @Test func aHeldBucketExcludesOtherHandlesAndOnlyThatBucket() throws {
        let f = try StoreFixture()
        let holder = FlowLockTable(directory: f.store.directory), other = FlowLockTable(directory: f.store.directory)
        let a = id(shard: 9, bucket: 10, 1), sameBucket = id(shard: 9, bucket: 10, 2), nextBucket = id(shard: 9, bucket: 11, 1)
        _ = try holder.withLock(id: a) { _ in
            let flow = try other.withLock(id: a, wait: false) { _ in true }
            let bucket = try other.withLock(id: sameBucket, wait: false) { _ in true }
            let next = try other.withLock(id: nextBucket, wait: false) { _ in true }
            #expect(flow == nil, "the flow's lock is held")
            #expect(bucket == nil, "so is its bucket's")
            #expect(next == true, "the next bucket is free")
            let fd = open(other.path(shard: 9), O_RDWR)
            defer { close(fd) }
            #expect(Sys.anyRangeLocked(fd), "the state checks see a held lock")
        }
        #expect(try other.withLock(id: a, wait: false) { _ in true } == true, "released on return")
        let fd = open(other.path(shard: 9), O_RDWR)
        defer { close(fd) }
        #expect(!Sys.anyRangeLocked(fd))
    }

    @Test func aNewFlowWritesNoFileButItsRecordAndClaim() throws {
        let f = try StoreFixture()
        let before = Set(f.files())
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        let added = Set(f.files()).subtracting(before)
        let key = f.store.userCodeKey(forCanonicalUserCode: auth.userCode.replacingDash())
        let flows = added.filter { $0.contains("/flows/") }
        #expect(flows == ["\(f.root)/flows/\(id.prefix(2))/\(id).flow", "\(f.root)/flows/\(key.prefix(2))/\(key).code"])
        #expect(!added.contains { $0.hasSuffix(".lock") })
        // The poll that follows keeps its soft state in the table: slow_down on a second poll.
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.slowDown))
        #expect(Set(f.files()).subtracting(before).filter { $0.contains("/flows/") } == flows)
    }

    @Test func garbageCollectionRemovesAnEarlierVersionsIdleLockFiles() throws {
        let f = try StoreFixture()
        let old = "\(f.root)/flows/3c/\(String(repeating: "3c", count: 32)).lock"
        let fresh = "\(f.root)/flows/3c/\(String(repeating: "3d", count: 32)).lock"
        for path in [old, fresh] { close(open(path, O_RDWR | O_CREAT, 0o600)) }
        var times = [timespec(tv_sec: Int(f.clock.now().seconds) - 601, tv_nsec: 0), timespec(tv_sec: Int(f.clock.now().seconds) - 601, tv_nsec: 0)]
        utimensat(AT_FDCWD, old, &times, 0)
        times = [timespec(tv_sec: Int(f.clock.now().seconds) - 10, tv_nsec: 0), timespec(tv_sec: Int(f.clock.now().seconds) - 10, tv_nsec: 0)]
        utimensat(AT_FDCWD, fresh, &times, 0)
        let report = f.store.collectGarbage(now: f.clock.now(), retentionSeconds: 3600, shards: [0x3c])
        #expect(report.orphanLocks == 1)
        #expect(access(old, F_OK) != 0 && access(fresh, F_OK) == 0)
    }

    // MARK: Pending flows answered from the table

    @Test func aPendingFlowsPollsReadNoRecordAndAnApprovalIsSeenAtOnce() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        try SyscallFaults.with(EIO, on: "open", pathContaining: "\(id).flow") { rule in
            let first = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now())
            let second = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now())
            #expect(first == .error(.authorizationPending) && second == .error(.slowDown))
            #expect(SyscallFaults.fired(rule) == 0, "no poll opened the record")
        }
        f.clock.advance(seconds: 11)
        _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
        guard case .tokens = try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("the approval was not seen by the next poll"); return
        }
    }

    @Test func aRecordWriteThatFailsLeavesNoSlotAnsweringForIt() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        // The approval's atomic write dies after the slot lost its pending flag (as a SIGKILL
        // between the two would leave it).
        #expect(throws: FlowStorageError.self) {
            try SyscallFaults.with(EIO, on: "rename", pathContaining: "\(id).flow") { _ in
                _ = try f.service.approve(userCode: auth.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now())
            }
        }
        #expect(try f.store.pollPendingFlow(id: id, clientID: f.client.clientID, now: f.clock.now()) == nil, "the slot no longer answers")
        // The next poll reads the record (still pending), and gives the slot its flag back.
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
        f.clock.advance(seconds: 6)
        #expect(try f.store.pollPendingFlow(id: id, clientID: f.client.clientID, now: f.clock.now()) == .authorizationPending)
    }

    @Test func theTableAnswersOnlyForItsClientBeforeExpiry() throws {
        let f = try StoreFixture()
        let auth = try f.authorize()
        let id = Encoding.sha256Hex(auth.deviceCode)
        #expect(try f.store.pollPendingFlow(id: id, clientID: "another-client", now: f.clock.now()) == nil)
        #expect(try f.store.pollPendingFlow(id: String(repeating: "ab", count: 32), clientID: f.client.clientID, now: f.clock.now()) == nil)
        #expect(try f.store.pollPendingFlow(id: "../etc", clientID: f.client.clientID, now: f.clock.now()) == nil)
        f.clock.advance(seconds: 601)
        #expect(try f.store.pollPendingFlow(id: id, clientID: f.client.clientID, now: f.clock.now()) == nil)
        #expect(try f.service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.expiredToken))
    }

    @Test func aTableFromAnotherBootIsEmptiedAndOneWithoutABootIDTrustsNoPendingFlag() throws {
        let f = try StoreFixture()
        let a = id(shard: 4, bucket: 8, 1)
        let pending = FlowLockTable.PendingFlow(clientDigest: FlowLockTable.clientDigest("tv"), expiresAt: UnixTime(seconds: 100), grantedInterval: 5)
        let before = FlowLockTable(directory: f.store.directory, bootID: Array("boot-before-the-power-cut".utf8))
        _ = try before.withLock(id: a) { try $0.write(FlowLockTable.Entry(poll: nil, pending: pending), now: UnixTime(seconds: 1)) }
        #expect(try before.withLock(id: a) { try $0.entry() }??.pending == pending)
        let untrusted = FlowLockTable(directory: f.store.directory, bootID: nil)
        #expect(try untrusted.withLock(id: a) { try $0.entry() }??.pending == nil)
        let after = FlowLockTable(directory: f.store.directory, bootID: Array("the-next-boot".utf8))
        #expect(try after.withLock(id: a) { try $0.entry() } == .some(nil), "the table was emptied")
    }

    @Test func aCopiedTableIsEmptied() throws {
        let f = try StoreFixture()
        let a = id(shard: 5, bucket: 2, 1)
        let boot = Array("one-boot".utf8)
        let pending = FlowLockTable.PendingFlow(clientDigest: FlowLockTable.clientDigest("tv"), expiresAt: UnixTime(seconds: 100), grantedInterval: 5)
        let writer = FlowLockTable(directory: f.store.directory, bootID: boot)
        _ = try writer.withLock(id: a) { try $0.write(FlowLockTable.Entry(poll: nil, pending: pending), now: UnixTime(seconds: 1)) }
        #expect(try FlowLockTable(directory: f.store.directory, bootID: boot).withLock(id: a) { try $0.entry() }??.pending == pending)
        // The table replaced by a byte-for-byte copy of itself (a new inode), as cp or a restore makes.
        let path = writer.path(shard: 5)
        let bytes = try #require(try Sys.readFile(path))
        let copy = open(path + ".copy", O_WRONLY | O_CREAT, 0o600)
        _ = bytes.withUnsafeBytes { write(copy, $0.baseAddress, $0.count) }
        close(copy)
        rename(path + ".copy", path)
        #expect(try FlowLockTable(directory: f.store.directory, bootID: boot).withLock(id: a) { try $0.entry() } == .some(nil))
    }
}
