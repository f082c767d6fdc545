// BenchPopulate: fills a state directory with live entries for `deploy/bench/bench.sh
// --entries`. A benchmark tool: not part of the devicegate product, never installed.
//
//   BenchPopulate STATE_DIR --flows N [--approved A] [--tokens T] [--revoked R]
//                 [--client-id demo-tv] [--scope openid] [--subject alice]
//                 [--lifetime SECONDS] [--jobs J]
//                 [--codes FILE] [--codes-limit K] [--approved-codes FILE]
//
// Every file is written by the store's own public API, the calls the server itself makes, so
// the on-disk format cannot drift from what the workers read:
//   - N flows through FlowService.authorizeDevice: the durable record, its slot in the
//     shard's lock table (soft poll state), and the user-code claim (HMAC-SHA-256 with the directory's
//     pepper), in the 256-shard layout. A of them are then approved through
//     FlowService.approve (subject --subject), as the verification page would.
//   - T access-token records through saveAccessToken (tokens/), R revocations through
//     revokeAccessToken (revoked/).
// Everything expires --lifetime seconds from now (default one day), so neither a poll nor the
// supervisor's garbage collection treats an entry as expired during a benchmark.
//
// Those calls fsync every file and directory they touch (four fsyncs a flow, ~1 ms each here):
// run under LD_PRELOAD=nofsync.so (deploy/bench/nofsync.c) to make fsync a no-op, then
// `sync -f STATE_DIR` once. Without it a million flows take hours.
//
// --codes FILE gets the device codes of up to --codes-limit pending flows (one a line; codes
// are random, so any subset is spread uniformly over the shards); --approved-codes FILE the
// device codes of the approved ones. The directory is prepared (StateDirectory.prepare) if new.
//
// --gc-shard-entries E (issue 15): instead, fills shard 00 alone with E flows, E access tokens
// and E revocations (about 4,000 each is a shard's share of a million entries), through the
// same store calls with ids chosen in that shard, then prints the CPU time (user + system,
// CLOCK_PROCESS_CPUTIME_ID) of --gc-passes garbage-collection passes over it: first as written
// (expiry-stamped mtimes), then with every mtime reset to the write time, as files written
// before stamps carry them (every record read and parsed, as every pass did before).
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import DeviceFlow
import DirectoryStorage
import Synchronization

struct Clock: WallClock {
    func now() -> UnixTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Failure: Error, CustomStringConvertible {
    var description: String
}

func writeLines(_ lines: [String], to path: String) throws {
    guard let file = fopen(path, "w") else { throw Failure(description: "cannot write \(path)") }
    defer { fclose(file) }
    for line in lines { fputs(line + "\n", file) }
}

@main
struct BenchPopulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill a devicegate state directory with live flows, tokens and revocations (benchmark tool).")

    @Argument(help: "The state directory (state_dir of the configuration).") var stateDirectory: String
    @Option(help: "Pending flows to create (record + user-code claim + lock-table slot each).") var flows = 0
    @Option(help: "Fill shard 00 alone with this many flows, tokens and revocations each, and time GC passes over it.") var gcShardEntries: Int?
    @Option(help: "GC passes to time with --gc-shard-entries.") var gcPasses = 5
    @Option(help: "How many of those flows to approve.") var approved = 0
    @Option(help: "Access-token records to write (tokens/).") var tokens = 0
    @Option(help: "Access-token revocations to write (revoked/).") var revoked = 0
    @Option(help: "The client the flows belong to.") var clientID = "demo-tv"
    @Option(help: "The scope the flows were granted (space-separated).") var scope = "openid"
    @Option(help: "The subject approved flows and tokens are bound to.") var subject = "alice"
    @Option(help: "Seconds until every entry expires.") var lifetime = 86_400
    @Option(help: "Parallel writers.") var jobs = 2
    @Option(help: "Write device codes of pending flows here.") var codes: String?
    @Option(help: "At most this many codes in --codes.") var codesLimit = Int.max
    @Option(help: "Write device codes of approved flows here.") var approvedCodes: String?

    func validate() throws {
        guard flows >= 0, tokens >= 0, revoked >= 0, (0...flows).contains(approved) else {
            throw ValidationError("counts must be >= 0 and --approved at most --flows")
        }
        guard (1...64).contains(jobs), lifetime >= 60 else { throw ValidationError("--jobs 1...64, --lifetime >= 60") }
        guard ScopeSet.parse(scope) != nil else { throw ValidationError("bad --scope") }
    }

    /// What one writer made.
    struct Share: Sendable {
        var pending: [String] = []
        var approved: [String] = []
    }

    func run() throws {
        if let gcShardEntries { return try timeCollection(entries: gcShardEntries) }
        let directory = StateDirectory(root: stateDirectory)
        try directory.prepare()
        let scope = ScopeSet.parse(self.scope)!
        let client = ClientRegistration(clientID: clientID, displayName: clientID, kind: .public,
                                        allowedScopes: scope, defaultScopes: scope)
        let policy = FlowPolicy(deviceCodeLifetime: lifetime, verificationURI: "http://127.0.0.1/device")
        let started = monotonicSeconds()
        let results = Mutex<[Share]>([])
        let failures = Mutex<[String]>([])
        let (flows, approved, tokens, revoked, jobs, lifetime, subject) =
            (self.flows, self.approved, self.tokens, self.revoked, self.jobs, self.lifetime, self.subject)
        let codesPerJob = codesLimit == Int.max ? Int.max : (codesLimit + jobs - 1) / jobs
        // Job j makes the j-th share of each kind.
        @Sendable func share(_ total: Int, _ job: Int) -> Int { total / jobs + (job < total % jobs ? 1 : 0) }

        DispatchQueue.concurrentPerform(iterations: jobs) { job in
            do {
                let store = try FileFlowStore(directory: directory)
                let service = FlowService(store: store, clients: ClientRegistry([client]), policy: policy,
                                          issuer: OpaqueTokenIssuer(accessTokenLifetime: lifetime))
                let random = SystemSecureRandom()
                let clock = Clock()
                var mine = Share()
                let myFlows = share(flows, job), myApproved = share(approved, job)
                for i in 0..<myFlows {
                    let now = clock.now()
                    let response = try service.authorizeDevice(client: client, scope: scope, now: now)
                    if i < myApproved {
                        guard case .success = try service.approve(userCode: response.userCode, subject: subject, authTime: now, now: now) else {
                            throw Failure(description: "approving a fresh flow failed")
                        }
                        mine.approved.append(response.deviceCode)
                    } else if mine.pending.count < codesPerJob {
                        mine.pending.append(response.deviceCode)
                    }
                    if job == 0 && i > 0 && i % 50_000 == 0 {
                        printError("BenchPopulate: \(i * jobs) flows, \(Int(monotonicSeconds() - started)) s")
                    }
                }
                for _ in 0..<share(tokens, job) {
                    let now = clock.now()
                    try store.saveAccessToken(AccessTokenRecord(
                        tokenHash: Encoding.sha256Hex(Encoding.base64URL(random.bytes(32))), clientID: client.clientID,
                        subject: subject, scope: scope, issuedAt: now, expiresAt: now.adding(seconds: Int64(lifetime)),
                        flowID: Encoding.hex(random.bytes(32))))
                }
                for _ in 0..<share(revoked, job) {
                    try store.revokeAccessToken(id: Encoding.base64URL(random.bytes(16)),
                                                expiresAt: clock.now().adding(seconds: Int64(lifetime)))
                }
                results.withLock { $0.append(mine) }
            } catch {
                failures.withLock { $0.append("job \(job): \(error)") }
            }
        }
        if let failure = failures.withLock({ $0.first }) {
            printError("BenchPopulate: \(failure)")
            throw ExitCode(1)
        }
        let all = results.withLock { $0 }
        if let codes { try writeLines(Array(all.flatMap(\.pending).prefix(codesLimit)), to: codes) }
        if let approvedCodes { try writeLines(all.flatMap(\.approved), to: approvedCodes) }
        let seconds = monotonicSeconds() - started
        print("BenchPopulate: \(flows) flows (\(approved) approved), \(tokens) tokens, \(revoked) revocations "
            + "in \(Int(seconds.rounded())) s with \(jobs) jobs")
    }
}

func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A random 64-hex key in shard 00.
func keyInShardZero(_ random: SystemSecureRandom) -> String { "00" + Encoding.hex(random.bytes(32)).dropFirst(2) }

extension BenchPopulate {
    func timeCollection(entries: Int) throws {
        let directory = StateDirectory(root: stateDirectory)
        try directory.prepare()
        let store = try FileFlowStore(directory: directory)
        let random = SystemSecureRandom()
        let now = Clock().now()
        let expires = now.adding(seconds: Int64(lifetime))
        for _ in 0..<entries {
            try store.createFlow(DeviceFlowRecord(id: keyInShardZero(random), userCodeKey: Encoding.hex(random.bytes(32)),
                                                  clientID: clientID, scope: ScopeSet.parse(scope)!, createdAt: now,
                                                  expiresAt: expires, interval: 5))
            try store.saveAccessToken(AccessTokenRecord(
                tokenHash: keyInShardZero(random), clientID: clientID, subject: subject, scope: ScopeSet.parse(scope)!,
                issuedAt: now, expiresAt: expires, flowID: Encoding.hex(random.bytes(32))))
            var id: String
            repeat { id = Encoding.base64URL(random.bytes(16)) } while !Encoding.sha256Hex(id).hasPrefix("00")
            try store.revokeAccessToken(id: id, expiresAt: expires)
        }
        func passes(_ label: String) {
            var seconds: [Double] = []
            for _ in 0..<gcPasses {
                let before = processCPUSeconds()
                let report = store.collectGarbage(now: Clock().now(), retentionSeconds: 3600, shards: [0])
                seconds.append(processCPUSeconds() - before)
                precondition(report.flows + report.tokens == 0 && report.census.pending == entries, "nothing is due: \(report)")
            }
            seconds.sort()
            print("BenchPopulate gc: shard 00, \(entries) flows + \(entries) tokens + \(entries) revocations, \(label): "
                + "CPU per pass median \(Int((seconds[seconds.count / 2] * 1000).rounded())) ms "
                + "(min \(Int((seconds[0] * 1000).rounded())), max \(Int((seconds[seconds.count - 1] * 1000).rounded())), \(gcPasses) passes)")
        }
        passes("as written")
        // saveAccessToken (FileFlowStore.swift) does not stamp yet: stamp the token files as it
        // would (ExpiryStamp: expiry's seconds, its milliseconds and the marker 963000 in tv_nsec).
        setModificationTimes(["tokens"], timespec(tv_sec: Int(expires.seconds), tv_nsec: Int(expires.milliseconds % 1000) * 1_000_000 + 963_000))
        passes("as written, tokens stamped too")
        // Files written before expiry stamps: the mtime is the write time.
        setModificationTimes(["flows", "tokens", "revoked"], timespec(tv_sec: Int(now.seconds), tv_nsec: 0))
        passes("unstamped (as before stamps)")
    }

    func setModificationTimes(_ kinds: [String], _ mtime: timespec) {
        var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), mtime]
        for kind in kinds {
            let dir = "\(stateDirectory)/\(kind)/00"
            guard let d = opendir(dir) else { continue }
            while let entry = readdir(d) {
                let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
                if name != "." && name != ".." { _ = utimensat(AT_FDCWD, "\(dir)/\(name)", &times, 0) }
            }
            closedir(d)
        }
    }
}
