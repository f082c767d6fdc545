import DeviceFlow
import DeviceGateTesting
import Testing

/// One test per promise of the storage contract (`FlowStorage`, `WebStateStorage`,
/// `FlowAdmissionCounters`, `UnknownCodeCounting`, `SigningKeyStorage`,
/// `ExpiredStateCollecting`), run against every backend in `Backend.all`.
@Suite struct StorageConformanceTests {
    @Test(arguments: Backend.all)
    func aPendingPollIsAnsweredOnlyForAPendingFlow(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.pendingAnswersOnlyForPendingFlows(b.flows, reopen: b.reopen) == nil)
    }

    @Test(arguments: Backend.all)
    func exactlyOnceRedemptionUnderConcurrentCallers(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.exactlyOnceRedemption(b.flows) == nil)
    }

    @Test(arguments: Backend.all)
    func liveUserCodesAreNeverShared(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.liveCodeNeverShared(b.flows) == nil)
        // The claim of a flow that expired before the next one was created is free again;
        // one still live at that moment (expiry equal to creation) is not.
        let key = randomHex()
        let old = newFlow(userCodeKey: key, lifetime: 600)
        try b.flows.createFlow(old)
        #expect(throws: FlowStorageError(.userCodeInUse, "user code collision")) {
            try b.flows.createFlow(newFlow(userCodeKey: key, createdAt: start.adding(seconds: 600)))
        }
        let next = newFlow(userCodeKey: key, createdAt: start.adding(seconds: 601))
        try b.flows.createFlow(next)
        #expect(try b.flows.flowID(forUserCodeKey: key) == next.id)
    }

    @Test(arguments: Backend.all)
    func slowDownStateIsSharedByEveryWorker(_ backend: Backend) throws {
        let b = try backend.make()
        let other = try b.reopen()
        let flow = newFlow()
        try b.flows.createFlow(flow)
        func poll(_ store: any FlowStorage, at now: UnixTime) throws -> String {
            try store.updateFlow(id: flow.id) { record, poll in
                guard case .refuse(let error, let next) = DevicePolling.decide(record: record, poll: poll, clientID: "tv", now: now) else {
                    return FlowUpdate(result: "not refused")
                }
                return FlowUpdate(poll: next, result: error.code)
            }
        }
        #expect(try poll(b.flows, at: start.adding(seconds: 1)) == "authorization_pending")
        // Too fast, on another worker: slow_down, and the interval grows from 5 to 10 s ...
        #expect(try poll(other, at: start.adding(seconds: 2)) == "slow_down")
        let grown = try b.flows.updateFlow(id: flow.id) { _, poll in FlowUpdate(result: poll.interval) }
        #expect(grown == 5 + DevicePolling.slowDownIncrement)
        // ... for every worker: 6 s later is in time for the old interval, not the grown one.
        #expect(try poll(b.flows, at: start.adding(seconds: 8)) == "slow_down")
        #expect(try poll(other, at: start.adding(seconds: 8 + 16)) == "authorization_pending")
    }

    @Test(arguments: Backend.all)
    func rotationIsIndexedAndReuseDetected(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.singleRotation(b.flows) == nil)
        let first = randomHex(), second = randomHex()
        let family = RefreshFamily(id: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), authTime: start,
                                   createdAt: start, expiresAt: start.adding(seconds: 86_400), currentTokenHash: first)
        try b.flows.createRefreshFamily(family)
        try b.flows.updateRefreshFamily(id: family.id) { f in
            var f = f!
            f.currentTokenHash = second
            return (f, ())
        }
        let other = try b.reopen()
        #expect(try other.refreshFamilyID(forTokenHash: second) == family.id)
        #expect(try other.refreshFamilyID(forTokenHash: first) == family.id, "a rotated-away token still finds its family")
        #expect(try other.refreshFamilyID(forTokenHash: randomHex()) == nil)
        let decision = try other.updateRefreshFamily(id: family.id) { f in
            (nil, RefreshDecision.decide(family: f, presentedHash: first, clientID: "tv", requestedScope: nil, now: start))
        }
        #expect(decision == .reuseDetected)
        // A closure that returns nil writes nothing.
        #expect(try other.updateRefreshFamily(id: family.id) { f in (nil, f?.currentTokenHash) } == second)
    }

    @Test(arguments: Backend.all)
    func revocationIsSeenAtOnceByEveryWorker(_ backend: Backend) throws {
        let b = try backend.make()
        let other = try b.reopen()
        #expect(try !other.isAccessTokenRevoked(id: "jti-1"))
        try b.flows.revokeAccessToken(id: "jti-1", expiresAt: start.adding(seconds: 3600))
        #expect(try other.isAccessTokenRevoked(id: "jti-1"))
        #expect(try !other.isAccessTokenRevoked(id: "jti-2"))

        #expect(try other.subjectRevokedAt("alice") == nil)
        try b.flows.revokeSubject("alice", at: start.adding(seconds: 10), keepUntil: start.adding(seconds: 1000))
        #expect(try other.subjectRevokedAt("alice") == start.adding(seconds: 10))
        #expect(try other.isRevoked(subject: "alice", at: start.adding(seconds: 10)))
        #expect(try !other.isRevoked(subject: "alice", at: start.adding(seconds: 11)))
        // A second removal moves the marker forward, never back.
        try b.flows.revokeSubject("alice", at: start.adding(seconds: 5), keepUntil: start.adding(seconds: 500))
        #expect(try other.subjectRevokedAt("alice") == start.adding(seconds: 10))
        #expect(try other.subjectRevokedAt("bob") == nil)

        // Sessions signed in before the revocation end; later ones live.
        let before = randomHex(), after = randomHex()
        try b.web.saveSession(idHash: before, WebSession(subject: "alice", authTime: start, expiresAt: start.adding(seconds: 3600)))
        try b.web.saveSession(idHash: after, WebSession(subject: "alice", authTime: start.adding(seconds: 20), expiresAt: start.adding(seconds: 3600)))
        #expect(try b.web.session(idHash: before) == nil)
        #expect(try b.web.session(idHash: after)?.subject == "alice")
        try b.web.deleteSession(idHash: after)
        #expect(try b.web.session(idHash: after) == nil)
    }

    @Test(arguments: Backend.all)
    func garbageCollectionRemovesOnlyWhatIsExpired(_ backend: Backend) throws {
        let b = try backend.make()
        let retention = 300
        // Flow lifetimes 600 s: `gone` expired 400 s before `now`, `kept` 100 s, `live` not yet.
        let now = start.adding(seconds: 1000)
        let gone = newFlow(createdAt: start), kept = newFlow(createdAt: start.adding(seconds: 300))
        let live = newFlow(createdAt: start.adding(seconds: 900))
        for flow in [gone, kept, live] { try b.flows.createFlow(flow) }
        func token(expiresAt: UnixTime) -> AccessTokenRecord {
            AccessTokenRecord(tokenHash: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), issuedAt: start,
                              expiresAt: expiresAt, flowID: live.id)
        }
        let oldToken = token(expiresAt: now.adding(seconds: -1)), liveToken = token(expiresAt: now.adding(seconds: 1))
        try b.flows.saveAccessToken(oldToken)
        try b.flows.saveAccessToken(liveToken)
        func family(expiresAt: UnixTime) -> RefreshFamily {
            RefreshFamily(id: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), authTime: start,
                          createdAt: start, expiresAt: expiresAt, currentTokenHash: randomHex())
        }
        let oldFamily = family(expiresAt: now.adding(seconds: -1)), liveFamily = family(expiresAt: now.adding(seconds: 1))
        try b.flows.createRefreshFamily(oldFamily)
        try b.flows.createRefreshFamily(liveFamily)
        try b.flows.revokeAccessToken(id: "old", expiresAt: now.adding(seconds: -1))
        try b.flows.revokeAccessToken(id: "live", expiresAt: now.adding(seconds: 1))
        try b.flows.revokeSubject("old", at: start, keepUntil: now.adding(seconds: -1))
        try b.flows.revokeSubject("live", at: start, keepUntil: now.adding(seconds: 1))

        b.flows.collectExpired(now: now, retentionSeconds: retention)

        func exists(_ flow: DeviceFlowRecord) throws -> Bool { try b.flows.updateFlow(id: flow.id) { r, _ in FlowUpdate(result: r != nil) } }
        #expect(try !exists(gone))
        #expect(try b.flows.flowID(forUserCodeKey: gone.userCodeKey) == nil)
        #expect(try exists(kept), "within its retention a late poll still gets expired_token")
        #expect(try b.flows.flowID(forUserCodeKey: kept.userCodeKey) == kept.id)
        #expect(try exists(live))
        #expect(try b.flows.flowID(forUserCodeKey: live.userCodeKey) == live.id)
        #expect(try b.flows.accessToken(hash: oldToken.tokenHash) == nil)
        #expect(try b.flows.accessToken(hash: liveToken.tokenHash) == liveToken)
        #expect(try b.flows.updateRefreshFamily(id: oldFamily.id) { f in (nil, f) } == nil)
        #expect(try b.flows.refreshFamilyID(forTokenHash: oldFamily.currentTokenHash) == nil)
        #expect(try b.flows.updateRefreshFamily(id: liveFamily.id) { f in (nil, f) } == liveFamily)
        #expect(try b.flows.refreshFamilyID(forTokenHash: liveFamily.currentTokenHash) == liveFamily.id)
        #expect(try !b.flows.isAccessTokenRevoked(id: "old"))
        #expect(try b.flows.isAccessTokenRevoked(id: "live"))
        #expect(try b.flows.subjectRevokedAt("old") == nil)
        #expect(try b.flows.subjectRevokedAt("live") == start)
    }

    @Test(arguments: Backend.all)
    func webGarbageCollectionRemovesOnlyWhatIsExpired(_ backend: Backend) throws {
        let b = try backend.make()
        // `start` is a whole minute: the 60 s window ends at start + 60, as does `ended`.
        let now = start.adding(seconds: 60)
        #expect(WindowCount.windowEnd(now: start, seconds: 60) == now)
        let ended = randomHex(), live = randomHex()
        try b.web.saveSession(idHash: ended, WebSession(subject: "bob", authTime: start, expiresAt: now))
        try b.web.saveSession(idHash: live, WebSession(subject: "bob", authTime: start, expiresAt: now.adding(seconds: 1)))
        _ = try b.web.increment(key: "minute", windowSeconds: 60, now: start)
        _ = try b.web.increment(key: "day", windowSeconds: 86_400, now: start)

        let removed = b.web.collectExpiredWebState(now: now)

        #expect(removed.sessions == 1 && removed.counters == 1)
        #expect(try b.web.session(idHash: ended) == nil)
        #expect(try b.web.session(idHash: live)?.expiresAt == now.adding(seconds: 1))
        #expect(try b.web.count(key: "day", windowSeconds: 86_400, now: now).count == 1)
        #expect(try b.web.increment(key: "minute", windowSeconds: 60, now: now).count == 1)
    }

    @Test(arguments: Backend.all)
    func countersAreExactUnderConcurrency(_ backend: Backend) throws {
        let b = try backend.make()
        let threads = 8, each = 50
        // Failure counters: every increment counted once, each caller sees a distinct count.
        let seen = Tally()
        let web = b.web
        onThreads(threads) { _ in
            for _ in 0..<each {
                if let c = try? web.increment(key: "signin:alice", windowSeconds: 3600, now: start) { seen.add(c.count) }
            }
        }
        #expect(seen.all.sorted() == Array(1...(threads * each)))
        #expect(try b.web.count(key: "signin:alice", windowSeconds: 3600, now: start).count == threads * each)
        let window = WindowCount.windowEnd(now: start, seconds: 3600)
        try b.web.decrement(key: "signin:alice", windowEnd: window)
        #expect(try b.web.count(key: "signin:alice", windowSeconds: 3600, now: start).count == threads * each - 1)
        // A decrement for a window that is over takes nothing back.
        try b.web.decrement(key: "signin:alice", windowEnd: window.adding(seconds: -3600))
        #expect(try b.web.count(key: "signin:alice", windowSeconds: 3600, now: start).count == threads * each - 1)
        #expect(try b.web.count(key: "signin:alice", windowSeconds: 3600, now: window).count == 0, "a new window starts at zero")

        // Admission: a cap is reached exactly, never overshot.
        let keys = [AdmissionKey(name: "address:203.0.113.9", limit: 300, kind: .address)]
        let admitted = Tally()
        let admission = b.admission
        onThreads(threads) { i in
            for _ in 0..<each {
                if (try? admission.admit(keys, expiresAt: start.adding(seconds: 600), lifetimeSeconds: 600, now: start)) == .some(nil) { admitted.add(i) }
            }
        }
        #expect(admitted.all.count == 300)

        // Unknown codes: every one counted once, handed back once.
        let unknown = b.unknownCodes
        let early = Tally()
        onThreads(threads) { _ in
            for _ in 0..<each {
                if let due = try? unknown.add(address: "203.0.113.9", clientID: "tv", window: 100) { early.add(due.count) }
            }
        }
        #expect(early.all.reduce(0, +) == 0)
        let due = try b.unknownCodes.takeDue(window: 101)
        #expect(due == [UnknownCodeCount(address: "203.0.113.9", clientID: "tv", count: Int64(threads * each), window: 100)])
        #expect(try b.unknownCodes.takeDue(window: 101).isEmpty)
    }

    @Test(arguments: Backend.all)
    func slotsOfAPoolAreHeldOnce(_ backend: Backend) throws {
        let b = try backend.make()
        let one = try #require(try b.web.claimSlot(pool: "hash", count: 2))
        let two = try #require(try b.web.claimSlot(pool: "hash", count: 2))
        #expect(try b.web.claimSlot(pool: "hash", count: 2) == nil)
        one.release()
        let three = try #require(try b.web.claimSlot(pool: "hash", count: 2))
        #expect(try b.web.claimSlot(pool: "hash", count: 2) == nil)
        two.release()
        three.release()
    }

    @Test(arguments: Backend.all)
    func signingKeysRotateWithoutLosingOne(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(b.keys.indexVersion() == nil)
        let won = Tally()
        let keys = b.keys
        onThreads(4) { i in
            let key = StoredKey(kid: "first-\(i)", alg: "ES256", createdAt: start, pem: "pem \(i)")
            if (try? keys.activate(key, now: start, forgetRetiredBefore: nil, onlyIfNone: true)) == true { won.add(i) }
        }
        #expect(won.all.count == 1, "exactly one worker creates the first key")
        let v1 = b.keys.indexVersion()
        #expect(v1 != nil)
        _ = try b.keys.activate(StoredKey(kid: "second", alg: "ES256", createdAt: start.adding(seconds: 10), pem: "pem 2"),
                                now: start.adding(seconds: 10), forgetRetiredBefore: nil)
        let loaded = try b.keys.load()
        #expect(loaded.map(\.kid) == ["first-\(won.all[0])", "second"])
        #expect(loaded.map(\.retiredAt) == [start.adding(seconds: 10), nil])
        #expect(loaded[1].pem == "pem 2")
        #expect(b.keys.indexVersion() != v1)
        // Keys retired before the cutoff are forgotten; the active one never is.
        _ = try b.keys.activate(StoredKey(kid: "third", alg: "ES256", createdAt: start.adding(seconds: 20), pem: "pem 3"),
                                now: start.adding(seconds: 20), forgetRetiredBefore: start.adding(seconds: 15))
        #expect(try b.keys.load().map(\.kid) == ["second", "third"])
    }
}
