#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@testable import DeviceGateWeb
import Testing

/// What a sign-in costs: the decoy hash of unknown names, the host-wide cap on hashes at
/// once, and decisions on dead codes counted like entries (issue 10, items 5 and 6).
@Suite struct PasswordCostTests {
    /// `htpasswd -nbB dave 'dave pw'` and `htpasswd -nbB erin 'erin pw'`.
    static let htpasswdUsers = """
    bob:\(KnownHashes.htpasswdBcrypt)
    dave:$2y$05$91.i92Wg2jGvHbb2eNoJx.kRwDojQ2pt9/j1agGLoG52lflFWJViK
    erin:$2y$05$zSrUEhAhayI3ufs7iyEHx.P9eEG6xvOjC3ES7yr7Lf2bd6cwL08SC
    carol:\(KnownHashes.mkpasswdYescrypt)

    """

    @Test(arguments: [
        (KnownHashes.htpasswdBcrypt, "$2y$05$", 22), (KnownHashes.mkpasswdBcrypt, "$2b$05$", 22),
        (KnownHashes.mkpasswdYescrypt, "$y$j9T$", 22), ("$7$CU..../....abcdefgh$0123456789", "$7$CU..../....", 8),
    ])
    func costSettingsAreReadFromEachScheme(_ hash: String, _ prefix: String, _ saltLength: Int) {
        let setting = PasswordHashing.costSetting(of: hash)
        #expect(setting?.prefix == prefix && setting?.saltLength == saltLength)
    }

    @Test(arguments: ["$6$salt$x", "$2y$05$short", "$y$j9T$", "plain"])
    func hashesWithoutAUsableSettingGiveNone(_ hash: String) {
        #expect(PasswordHashing.costSetting(of: hash) == nil)
    }

    /// The decoy takes the most common setting of the file, and a new one when the file changes.
    @Test func theDecoyFollowsTheUsersFile() throws {
        let decoys = DecoyHashes()
        let bcryptFile = UsersFile.parse(Self.htpasswdUsers).file
        let first = decoys.decoy(for: bcryptFile)
        #expect(first.hasPrefix("$2y$05$") && first.count == 60)
        #expect(first != KnownHashes.htpasswdBcrypt)
        #expect(decoys.decoy(for: bcryptFile) == first, "made once per setting")
        let yescryptFile = UsersFile.parse("a:\(KnownHashes.mkpasswdYescrypt)\nb:\(KnownHashes.mkpasswdYescrypt)\nc:\(KnownHashes.htpasswdBcrypt)\n").file
        #expect(decoys.decoy(for: yescryptFile).hasPrefix("$y$j9T$"))
        #expect(decoys.decoy(for: UsersFile()) == PasswordHashing.fallbackDecoy)
    }

    /// Median time of 50 sign-ins with a known and 50 with an unknown name, interleaved, over
    /// a users file as `htpasswd -B` writes it (bcrypt cost 5): within 20%. With a fixed
    /// yescrypt decoy the unknown name costs several times more. Time is the CPU time of the
    /// thread that answers (the sign-in runs synchronously on it), so other suites running in
    /// parallel on the same cores do not skew one side: wall time did, once.
    /// With 2,000 more users, finding the decoy (a tally of the file's settings) must not
    /// make unknown names slower than known ones either.
    @Test(arguments: [0, 2_000])
    func unknownNamesCostWhatKnownNamesCost(extraUsers: Int) throws {
        let f = try WebFixture { config, temp in
            config.web.usersFile = temp + "/htpasswd-B"
            let many = WebSettings.Limit(maximum: 999_998, windowSeconds: 900)
            config.web.limits.signInPerUser = many
            config.web.limits.signInPerIP = many
            config.web.limits.signInGlobal = many
        }
        let more = (0..<extraUsers).map { "user\($0):$2y$05$91.i92Wg2jGvHbb2eNoJx.kRwDojQ2pt9/j1agGLoG52lflFWJViK\n" }.joined()
        try writeFile(f.temp.path + "/htpasswd-B", Self.htpasswdUsers + more)
        let browser = Browser(f)
        browser.get()
        func time(_ user: String) -> Int64 {
            let start = threadCPUNanoseconds()
            let status = browser.signIn(user, "not the password").status
            let elapsed = threadCPUNanoseconds() - start
            #expect(status == 403)
            return elapsed
        }
        for _ in 0..<3 { _ = time("dave"); _ = time("nobody") }  // warm caches and the decoy
        var known: [Int64] = [], unknown: [Int64] = []
        for round in 0..<50 {
            if round % 2 == 0 { known.append(time("dave")); unknown.append(time("nobody")) } else { unknown.append(time("nobody")); known.append(time("dave")) }
        }
        let a = Double(median(known)), b = Double(median(unknown))
        #expect(abs(a - b) / max(a, b) < 0.2, "median known \(Int(a / 1000)) µs, unknown \(Int(b / 1000)) µs")
    }

    /// Every slot held (as by other workers): a sign-in gets the busy page, nothing is counted;
    /// a slot freed, the same sign-in works.
    @Test func signInsNeedAFreeHashSlot() throws {
        let f = try WebFixture { config, _ in
            config.web.passwordHashSlots = 2
            config.web.passwordHashWaitMilliseconds = 20
        }
        var held = try (0..<2).compactMap { _ in try f.webStore.claimSlot(pool: PasswordHashLimiter.pool, count: 2) }
        #expect(held.count == 2)
        #expect(try f.webStore.claimSlot(pool: PasswordHashLimiter.pool, count: 2) == nil)
        let browser = Browser(f)
        let busy = browser.signIn()
        #expect(busy.status == 503)
        #expect(busy.header("Retry-After") == "5")
        #expect(busy.bodyText.contains("Too many sign-ins right now"))
        #expect(busy.headers.allSatisfy { !($0.0 == "Set-Cookie" && $0.1.contains("session")) })
        #expect(try f.webStore.count(key: "sign-in-user:alice", windowSeconds: 900, now: f.clock.now()).count == 0)
        #expect(!f.audit.kinds().contains(.signInFailed))
        held.removeLast().release()
        #expect(browser.signIn().status == 303)
        #expect(held.count == 1)
    }

    @Test func theLimiterDoesNotRunTheHashWithoutASlot() throws {
        let f = try WebFixture()
        var settings = WebSettings()
        settings.passwordHashSlots = 1
        settings.passwordHashWaitMilliseconds = 0
        let limiter = PasswordHashLimiter(store: f.webStore, settings: settings)
        var ran = 0
        let claim = try #require(try f.webStore.claimSlot(pool: PasswordHashLimiter.pool, count: 1))
        #expect(try limiter.withSlot { ran += 1 } == nil)
        #expect(ran == 0)
        claim.release()
        #expect(try limiter.withSlot { ran += 1 } != nil)
        #expect(ran == 1)
        #expect(PasswordHashLimiter.defaultSlots() >= 1)
    }

    /// A decision on an expired, approved or denied code counts against the user-code limit,
    /// as an entry of it does (docs/security.md, Guessing user codes).
    @Test(arguments: [("expired", 410), ("approved", 409), ("denied", 409)])
    func decisionsOnDeadCodesCount(_ state: String, _ status: Int) throws {
        let f = try WebFixture { config, _ in config.web.limits.userCodePerIP = .init(maximum: 2, windowSeconds: 600) }
        let (_, user) = try f.startFlow()
        let browser = Browser(f, address: "192.0.2.78")
        browser.signIn(code: user)
        switch state {
        case "expired": f.clock.advance(seconds: 601)
        case "approved": #expect(browser.decide("approve", code: user).status == 200)
        default: #expect(browser.decide("deny", code: user).status == 200)
        }
        let (_, fresh) = try f.startFlow()
        for _ in 0..<2 { #expect(browser.decide("approve", code: user).status == status) }
        #expect(browser.enter(fresh).status == 429)
        let reasons = f.audit.events.filter { $0.kind == .userCodeRejected }.map { $0.details.first { $0.0 == "reason" }?.1 }
        #expect(reasons == Array(repeating: state == "expired" ? "expired" : "decided", count: 2))
    }
}

/// CPU time spent by the calling thread: unlike wall time, not stretched when other processes
/// take the core.
func threadCPUNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func median(_ values: [Int64]) -> Int64 {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
