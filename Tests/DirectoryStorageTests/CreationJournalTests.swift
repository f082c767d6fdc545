#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@testable import DirectoryStorage
import Testing

/// The creation journal: frames, group commit bookkeeping, replay after a crash, checkpoint.
struct CreationJournalTests {
    func payload(_ n: Int) -> [UInt8] { Array("devicegate-flow 1\nflow \(n)\nend\n".utf8) }

    @Test func framesRoundTripAndATornFrameHidesNothingAfterIt() {
        let frames = (0..<4).map { CreationJournal.frame(payload($0)) }
        let whole = frames.flatMap { $0 }
        #expect(CreationJournal.payloads(in: whole).map(Array.init) == (0..<4).map(payload))

        // (what a crash or a full disk leaves, which frames must still be found)
        let cases: [(String, [UInt8], [Int])] = [
            ("second frame cut short", frames[0] + frames[1].prefix(20) + frames[2] + frames[3], [0, 2, 3]),
            ("last frame cut short", frames[0] + frames[1] + frames[2] + frames[3].dropLast(3), [0, 1, 2]),
            ("second frame zeroed", frames[0] + [UInt8](repeating: 0, count: frames[1].count) + frames[2] + frames[3], [0, 2, 3]),
            ("a payload byte flipped", frames[0] + frames[1].enumerated().map { $0.offset == 30 ? $0.element ^ 1 : $0.element } + frames[2], [0, 2]),
            ("length beyond the end", frames[0] + CreationJournal.magic + CreationJournal.bytes(UInt32(1 << 30)) + [UInt8](repeating: 7, count: 8), [0]),
            ("zeros after the last frame", whole + [UInt8](repeating: 0, count: 4096), [0, 1, 2, 3]),
            ("empty", [], []),
        ]
        for (name, log, expected) in cases {
            #expect(CreationJournal.payloads(in: log).map(Array.init) == expected.map(payload), "\(name)")
        }
    }

    @Test func windowsAreWholeMinutes() {
        #expect(CreationJournal.window(of: UnixTime(milliseconds: 1_800_000_059_999)) == 1_800_000_000 - 1_800_000_000 % 60)
        #expect(CreationJournal.window(of: UnixTime(milliseconds: 120_000)) == 120)
        #expect(CreationJournal.window(of: UnixTime(milliseconds: 179_999)) == 120)
    }

    /// Each new flow is one frame holding its record byte for byte, and `.synced` covers it
    /// when createFlow returns.
    @Test func aNewFlowIsAFrameCoveredBySyncedBeforeItReturns() throws {
        let f = try StoreFixture()
        let auths = try (0..<5).map { _ in try f.authorize() }
        let window = CreationJournal.window(of: f.clock.now())
        let log = f.read("\(f.root)/journal/\(window).log")
        let payloads = CreationJournal.payloads(in: log)
        #expect(payloads.count == 5)
        for (auth, payload) in zip(auths, payloads) {
            let id = Encoding.sha256Hex(auth.deviceCode)
            #expect(Array(payload) == f.read("\(f.root)/flows/\(id.prefix(2))/\(id).flow"))
        }
        let synced = f.read("\(f.root)/journal/\(window).synced")
        var st = stat()
        stat("\(f.root)/journal/\(window).log", &st)
        #expect(synced.count == 16 && CreationJournal.uint64(synced, at: 0) == UInt64(log.count))
        #expect(CreationJournal.uint64(synced, at: 8) == UInt64(st.st_ino), "`.synced` names the log it vouches for")
        #expect(modeOf("\(f.root)/journal/\(window).log") == 0o600 && modeOf("\(f.root)/journal") == 0o700)
    }

    /// What a power cut can do to files written without fsync: gone, or torn. The replay
    /// writes them again from the journal, and the flow works as if nothing happened.
    @Test func replayRestoresLostAndTornRecordsAndClaims() throws {
        let f = try StoreFixture()
        let lost = try f.authorize(), torn = try f.authorize(), intact = try f.authorize(), approved = try f.authorize()
        _ = try f.service.approve(userCode: approved.userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get()
        func paths(_ auth: DeviceAuthorizationResponse) -> (record: String, claim: String) {
            let id = Encoding.sha256Hex(auth.deviceCode)
            let key = f.store.userCodeKey(forCanonicalUserCode: auth.userCode.replacingDash())
            return ("\(f.root)/flows/\(id.prefix(2))/\(id).flow", "\(f.root)/flows/\(key.prefix(2))/\(key).code")
        }
        unlink(paths(lost).record)
        unlink(paths(lost).claim)
        truncate(paths(torn).record, 0)   // the record and its claim are one inode: both torn
        let approvedRecord = f.read(paths(approved).record)

        let reopened = try FileFlowStore(directory: StateDirectory(root: f.root))
        let recovery = try reopened.recoverJournal(now: f.clock.now())
        #expect(recovery.liveFlows == 4)
        #expect(recovery.restoredRecords == 2 && recovery.restoredClaims == 2)
        #expect(f.read(paths(approved).record) == approvedRecord, "a later version of a record is kept")

        let service = f.makeService(over: reopened)
        for auth in [lost, torn, intact] {
            #expect(try service.poll(deviceCode: auth.deviceCode, client: f.client, now: f.clock.now()) == .error(.authorizationPending))
            #expect(try service.approve(userCode: auth.userCode, subject: "bob", authTime: f.clock.now(), now: f.clock.now()).get().id
                    == Encoding.sha256Hex(auth.deviceCode))
        }
        guard case .tokens = try service.poll(deviceCode: approved.deviceCode, client: f.client, now: f.clock.now()) else {
            Issue.record("the approval made before the crash was lost"); return
        }
        // A second replay finds nothing to do.
        let again = try reopened.recoverJournal(now: f.clock.now())
        #expect(again.restoredRecords == 0 && again.restoredClaims == 0 && again.liveFlows == 4)
    }

    @Test func replaySkipsExpiredFlowsAndClaimsHeldByOthers() throws {
        let f = try StoreFixture()
        let old = try f.authorize()
        let id = Encoding.sha256Hex(old.deviceCode)
        unlink("\(f.root)/flows/\(id.prefix(2))/\(id).flow")
        f.clock.advance(seconds: 601)
        let recovery = try f.store.recoverJournal(now: f.clock.now())
        #expect(recovery.liveFlows == 0 && recovery.restoredRecords == 0)
        #expect(f.read("\(f.root)/flows/\(id.prefix(2))/\(id).flow").isEmpty)
    }

    /// The checkpoint removes a log once its minute is over and everything is synced, and
    /// keeps the open minute's log; at a clean stop it removes that one too.
    @Test func checkpointRemovesClosedLogsOnly() throws {
        let f = try StoreFixture()
        _ = try f.authorize()
        let closed = CreationJournal.window(of: f.clock.now())
        f.clock.advance(seconds: 120)
        _ = try f.authorize()
        let open = CreationJournal.window(of: f.clock.now())
        #expect(closed != open)
        func left() -> Set<String> { Set(regularFiles(under: "\(f.root)/journal").map { String($0.split(separator: "/").last!) }) }

        #expect(try f.store.checkpointJournal(now: f.clock.now()) == 1)
        #expect(!left().contains("\(closed).log") && !left().contains("\(closed).synced"))
        #expect(left().contains("\(open).log"), "the open minute's log is kept")
        // The checkpoint did not lose the flow whose log it removed.
        #expect(f.files().filter { $0.hasSuffix(".flow") }.count == 2)
        #expect(try f.store.checkpointJournal(now: f.clock.now(), quiescent: true) == 1)
        #expect(!left().contains("\(open).log"))
    }

    /// A failed fdatasync retires the log: later frames go to a fresh log and are synced
    /// there, and the replay still reads the retired one. (Simulated: the log renamed away
    /// under an append, which is what the retirement does; SyscallFaultTests fails the
    /// fdatasync itself.)
    @Test func aRenamedLogIsNotTrustedAndIsStillReplayed() throws {
        let f = try StoreFixture()
        let first = try f.authorize()
        let window = CreationJournal.window(of: f.clock.now())
        rename("\(f.root)/journal/\(window).log", "\(f.root)/journal/\(window)-failed-1-2.log")
        let second = try f.authorize()
        let fresh = CreationJournal.payloads(in: f.read("\(f.root)/journal/\(window).log"))
        #expect(fresh.count == 1, "the second flow went into a fresh log")
        let synced = f.read("\(f.root)/journal/\(window).synced")
        #expect(CreationJournal.uint64(synced, at: 0) == UInt64(f.read("\(f.root)/journal/\(window).log").count))
        for auth in [first, second] {
            let id = Encoding.sha256Hex(auth.deviceCode)
            unlink("\(f.root)/flows/\(id.prefix(2))/\(id).flow")
        }
        #expect(try f.store.recoverJournal(now: f.clock.now()).restoredRecords == 2)
    }

    /// A log removed between an append and its commit: the frame is written again into a
    /// fresh log, so the flow is still in the journal.
    @Test func anAppendToARemovedLogGoesToAFreshOne() throws {
        let f = try StoreFixture()
        _ = try f.authorize()
        let window = CreationJournal.window(of: f.clock.now())
        unlink("\(f.root)/journal/\(window).log")
        unlink("\(f.root)/journal/\(window).synced")
        let auth = try f.authorize()
        let payloads = CreationJournal.payloads(in: f.read("\(f.root)/journal/\(window).log"))
        let id = Encoding.sha256Hex(auth.deviceCode)
        #expect(payloads.map(Array.init) == [f.read("\(f.root)/flows/\(id.prefix(2))/\(id).flow")])
    }

    func modeOf(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }
}
