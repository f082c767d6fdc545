#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
@testable import DirectoryStorage
import Testing

/// Several processes race on the same flows through one state directory: every flow is
/// approved exactly once and redeemed exactly once, and no approval is lost.
struct MultiProcessRaceTests {
    static var toolPath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var exe = String(cString: Array(buffer[0..<max(0, n)]) + [0])
        // .build/<config>/devicegatePackageTests.xctest -> .build/<config>/StoreRaceTool
        while let last = exe.split(separator: "/").last, !last.hasSuffix(".xctest"), exe.count > 1 {
            exe = String(exe[..<exe.lastIndex(of: "/")!])
        }
        return String(exe[..<exe.lastIndex(of: "/")!]) + "/StoreRaceTool"
    }

    @Test func racingProcessesRedeemEveryCodeExactlyOnce() throws {
        let f = try StoreFixture()
        let flows = 150, processes = 6
        var lines = ""
        var userCodes: [String] = []
        var deviceCodes: [String] = []
        let now = SystemClockForTests().now()
        for _ in 0..<flows {
            let auth = try f.service.authorizeDevice(client: f.client, scope: ScopeSet(["openid"]), now: now)
            lines += "\(auth.deviceCode) \(auth.userCode)\n"
            userCodes.append(auth.userCode)
            deviceCodes.append(auth.deviceCode)
        }
        let codesFile = f.temp.path + "/codes"
        let file = fopen(codesFile, "w")!
        fputs(lines, file)
        fclose(file)

        #expect(access(Self.toolPath, X_OK) == 0, "StoreRaceTool not built at \(Self.toolPath)")
        let pids = (0..<processes).compactMap { i in spawnProcess([Self.toolPath, f.root, codesFile], outputPath: "\(f.temp.path)/out\(i)") }
        #expect(pids.count == processes)
        for pid in pids { #expect(waitForExit(pid) == 0) }

        var approvals: [String: Int] = [:], redemptions: [String: Int] = [:], tokens = Set<String>()
        var unexpected: [String] = []
        for i in 0..<processes {
            for line in String(decoding: f.read("\(f.temp.path)/out\(i)"), as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                switch parts.first {
                case "approved": approvals[parts[1], default: 0] += 1
                case "redeemed": redemptions[parts[1], default: 0] += 1; tokens.insert(parts[2])
                default: unexpected.append(String(line))
                }
            }
        }
        #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
        #expect(approvals.count == flows && approvals.values.allSatisfy { $0 == 1 }, "every flow approved exactly once")
        #expect(redemptions.count == flows && redemptions.values.allSatisfy { $0 == 1 }, "every code redeemed exactly once")
        #expect(Set(redemptions.keys) == Set(deviceCodes))
        #expect(tokens.count == flows)
        for token in tokens { #expect(try f.store.accessToken(hash: Encoding.sha256Hex(token)) != nil) }
    }
}

extension MultiProcessRaceTests {
    /// Several processes create flows with the same user codes at the same moment: half of the
    /// codes free, half held by a flow that has expired (so each creator may replace that
    /// claim). Every code ends up with exactly one new flow, and its claim names that flow.
    /// Replacing an expired claim without the claims lock lets two creators both win.
    @Test func racingCreatorsNeverShareAUserCode() throws {
        let f = try StoreFixture()
        let keys = 300, processes = 6
        let now = SystemClockForTests().now()
        for i in stride(from: 0, to: keys, by: 2) {
            let then = now.adding(seconds: -1000)
            try f.store.createFlow(DeviceFlowRecord(id: Encoding.sha256Hex("old flow \(i)"), userCodeKey: Encoding.sha256Hex("user code \(i)"),
                                                    clientID: "tv", scope: ScopeSet(["openid"]), createdAt: then,
                                                    expiresAt: then.adding(seconds: 600), interval: 5))
        }
        let pids = (0..<processes).compactMap { i in
            spawnProcess([Self.toolPath, "claims", f.root, "\(keys)", "\(now.milliseconds)"], outputPath: "\(f.temp.path)/claims\(i)")
        }
        #expect(pids.count == processes)
        for pid in pids { #expect(waitForExit(pid) == 0) }

        var winners: [Int: [String]] = [:]
        var unexpected: [String] = []
        for i in 0..<processes {
            for line in String(decoding: f.read("\(f.temp.path)/claims\(i)"), as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                if parts.count == 3, parts[0] == "won", let key = Int(parts[1]) { winners[key, default: []].append(parts[2]) } else { unexpected.append(String(line)) }
            }
        }
        #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
        let shared = winners.filter { $0.value.count > 1 }.keys.sorted()
        #expect(shared.count == 0, "user codes handed to more than one flow, e.g. \(shared.prefix(5))")
        #expect(winners.count == keys, "every user code went to some flow")
        for (key, ids) in winners where ids.count == 1 {
            #expect(try f.store.flowID(forUserCodeKey: Encoding.sha256Hex("user code \(key)")) == ids[0])
        }
        // Six processes appending to one journal log at once: every new flow is one intact
        // frame (no interleaved or lost appends), and the log is synced to its end.
        let window = CreationJournal.window(of: now)
        let log = f.read("\(f.root)/journal/\(window).log")
        var journaled: [String: Int] = [:]
        for payload in CreationJournal.payloads(in: log) {
            if let record = try? RecordCoding.decodeFlow(Array(payload), path: "journal") { journaled[record.id, default: 0] += 1 }
        }
        for ids in winners.values { for id in ids { #expect(journaled[id] == 1, "flow \(id.prefix(12)) in the journal") } }
        #expect(CreationJournal.uint64(f.read("\(f.root)/journal/\(window).synced"), at: 0) == UInt64(log.count))
    }
}

struct SystemClockForTests: WallClock {
    func now() -> UnixTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}
