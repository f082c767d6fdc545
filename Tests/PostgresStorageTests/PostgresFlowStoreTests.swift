#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import PostgresStorage
import Testing

/// What the conformance suite cannot see from one connection: the promises of `FlowStorage`
/// held across connections (hosts), a worker that dies mid-transaction, the statements a poll
/// costs, and what an error carries.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs DEVICEGATE_TEST_POSTGRES_URL (deploy/test.sh starts a cluster)"))
struct PostgresFlowStoreTests {
    /// Two hosts poll the same approved flows at once, each on its own connection: every flow
    /// is redeemed exactly once, and the loser of each race saw it redeemed.
    @Test func racingRedemptionOnTwoConnectionsRedeemsEachFlowOnce() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = [try PostgresFlowStore(connection: pg.connection()), try PostgresFlowStore(connection: pg.connection())]
        let flows = (0..<100).map { _ in flow(status: .approved(alice)) }
        for f in flows { try hosts[0].createFlow(f) }
        let wins = Tally(), sawRedeemed = Tally(), failures = Tally()
        onThreads(2) { h in
            for (i, f) in flows.enumerated() {
                do {
                    let won = try hosts[h].updateFlow(id: f.id) { record, _ -> FlowUpdate<Bool> in
                        guard var record else { return FlowUpdate(result: false) }
                        guard case .approved(let approval) = record.status else {
                            if case .redeemed = record.status { sawRedeemed.add(i) }
                            return FlowUpdate(result: false)
                        }
                        record.status = .redeemed(approval, at: start.adding(seconds: 1))
                        return FlowUpdate(record: record, result: true)
                    }
                    if won { wins.add(i) }
                } catch {
                    failures.add(i)
                }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(wins.all.sorted() == Array(0..<flows.count), "each flow redeemed exactly once")
        #expect(sawRedeemed.all.sorted() == Array(0..<flows.count), "each loser read the winner's write")
    }

    /// Two hosts create flows with the same user-code key at once: for each key exactly one
    /// flow is created, the key names it, and the loser's flow was not written at all.
    @Test func sameUserCodeOnTwoConnectionsHasOneWinner() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let hosts = [try PostgresFlowStore(connection: pg.connection()), try PostgresFlowStore(connection: pg.connection())]
        let keys = (0..<100).map { _ in randomHex() }
        let candidates = keys.map { key in [flow(userCodeKey: key), flow(userCodeKey: key)] }
        let created = Tally(), refused = Tally(), failures = Tally()
        onThreads(2) { h in
            for i in keys.indices {
                do {
                    try hosts[h].createFlow(candidates[i][h])
                    created.add(i * 2 + h)
                } catch let e as FlowStorageError where e.kind == .userCodeInUse {
                    refused.add(i * 2 + h)
                } catch {
                    failures.add(i)
                }
            }
        }
        #expect(failures.all.isEmpty)
        #expect(created.all.count == keys.count && refused.all.count == keys.count)
        for winner in created.all {
            let (i, h) = (winner / 2, winner % 2)
            #expect(try hosts[1 - h].flowID(forUserCodeKey: keys[i]) == candidates[i][h].id)
            #expect(try !exists(candidates[i][1 - h], in: hosts[h]), "the refused flow left no row")
        }
    }

    /// A flow that expired before the next one drawing its code was created gives its claim
    /// up; the old flow's record stays (a late poll still reads `expired_token`) until GC.
    @Test func theClaimOfAnExpiredFlowIsTakenOver() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try PostgresFlowStore(connection: pg.connection()), b = try PostgresFlowStore(connection: pg.connection())
        let key = randomHex()
        let old = flow(userCodeKey: key)
        try a.createFlow(old)
        let new = flow(userCodeKey: key, createdAt: old.expiresAt.adding(milliseconds: 1))
        try b.createFlow(new)
        #expect(try a.flowID(forUserCodeKey: key) == new.id)
        #expect(try exists(old, in: b))
        #expect(throws: FlowStorageError(.userCodeInUse, "user code collision")) {
            try a.createFlow(flow(userCodeKey: key, createdAt: new.createdAt.adding(seconds: 1)))
        }
        // GC at a time when the old flow is past its retention and the new one is live keeps
        // the new claim.
        a.collectExpired(now: old.expiresAt.adding(seconds: 10), retentionSeconds: 5)
        #expect(try !exists(old, in: b))
        #expect(try b.flowID(forUserCodeKey: key) == new.id)
    }

    /// A worker killed mid-transaction: its connection goes, the server rolls back what it
    /// wrote and releases its row lock, and another host's update proceeds on the old record.
    @Test func aWorkerThatDiesMidTransactionLeavesNothingAndHoldsNothing() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let f = flow()
        try store.createFlow(f)
        let worker = pg.connection()
        try worker.executeScript("BEGIN")
        try worker.execute(PostgresStatement("lock", "SELECT 1 FROM flows WHERE id = $1 FOR UPDATE"), [.text(f.id)])
        try worker.execute(PostgresStatement("deny", "UPDATE flows SET status = 'denied', denied_ms = 1 WHERE id = $1"), [.text(f.id)])
        let probe = pg.connection()
        let tryLock = PostgresStatement("try_lock", "SELECT 1 FROM flows WHERE id = $1 FOR UPDATE NOWAIT")
        #expect(throws: PostgresError.self, "the worker holds the row lock") { try probe.execute(tryLock, [.text(f.id)]) }

        worker.disconnect()

        let seen = try store.updateFlow(id: f.id) { record, poll in
            FlowUpdate(poll: PollState(lastPollAt: start, interval: poll.interval), result: record?.status)
        }
        #expect(seen == .pending, "nothing the dead worker wrote is visible")
        #expect(try probe.execute(tryLock, [.text(f.id)]).count == 1, "and no lock of it is left")
    }

    /// The locked read goes out with BEGIN in one pipeline. When it fails (here: NOWAIT on a row
    /// another worker holds, then a statement that does not parse) the transaction is rolled
    /// back, not left open: the next write on that connection is committed at once.
    @Test func aFailedPipelinedBeginLeavesNoTransactionOpen() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let other = try PostgresFlowStore(connection: pg.connection())
        let f = flow()
        try store.createFlow(f)
        let holder = pg.connection()
        try holder.executeScript("BEGIN")
        try holder.execute(PostgresStatement("lock", "SELECT 1 FROM flows WHERE id = $1 FOR UPDATE"), [.text(f.id)])
        let tryLock = PostgresStatement("try_lock", "SELECT 1 FROM flows WHERE id = $1 FOR UPDATE NOWAIT")
        var ran = false
        do {
            try c.transaction(beginningWith: tryLock, [.text(f.id)]) { _, _ in ran = true }
            Issue.record("NOWAIT took a row another connection holds")
        } catch let e as PostgresError {
            #expect(e.sqlState == "55P03", "\(e)")
        }
        #expect(!ran)
        try store.revokeAccessToken(id: "after-lock-failure", expiresAt: start)
        #expect(try other.isAccessTokenRevoked(id: "after-lock-failure"), "committed: no transaction was left open")

        #expect(throws: PostgresError.self) {
            try c.transaction(beginningWith: PostgresStatement("broken", "SELEC 1"), []) { _, _ in }
        }
        try store.revokeAccessToken(id: "after-parse-failure", expiresAt: start)
        #expect(try other.isAccessTokenRevoked(id: "after-parse-failure"))

        try holder.executeScript("ROLLBACK")
        let locked = try c.transaction(beginningWith: tryLock, [.text(f.id)]) { _, rows in rows.count }
        #expect(locked == 1)
    }

    /// The server ends an idle worker's session (a restart, an operator's
    /// pg_terminate_backend): the next update finds the connection closed before it sends
    /// anything, reconnects and succeeds, so the worker's first request after a database
    /// restart is answered rather than refused.
    @Test func anUpdateOnAConnectionTheServerEndedReconnectsFirst() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let f = flow()
        try store.createFlow(f)
        let pid = try #require(try c.execute(PostgresStatement("pid", "SELECT pg_backend_pid()")).first?.int64(0))
        try pg.connection().execute(PostgresStatement("terminate", "SELECT pg_terminate_backend($1::integer, 5000)"), [.int(pid)])
        usleep(100_000)  // the server's last message and FIN reach the idle socket
        try store.updateFlow(id: f.id) { _, _ in FlowUpdate(poll: PollState(lastPollAt: start, interval: 99), result: ()) }
        #expect(c.connectCount == 2)
        let poll = try PostgresFlowStore(connection: pg.connection()).updateFlow(id: f.id) { _, poll in FlowUpdate(result: poll) }
        #expect(poll == PollState(lastPollAt: start, interval: 99))
    }

    /// Store calls made inside an update closure join its transaction: committed with the
    /// record, and rolled back with it when the closure throws.
    @Test func storeCallsInsideAnUpdateCommitAndRollBackWithIt() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let other = try PostgresFlowStore(connection: pg.connection())
        let f = flow(status: .approved(alice))
        try store.createFlow(f)
        let token = accessToken(flowID: f.id), family = refreshFamily()
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try store.updateFlow(id: f.id) { _, _ -> FlowUpdate<Void> in
                try store.saveAccessToken(token)
                try store.createRefreshFamily(family)
                try store.revokeAccessToken(id: "jti-abandoned", expiresAt: start.adding(seconds: 60))
                throw Abandon()
            }
        }
        #expect(try other.accessToken(hash: token.tokenHash) == nil)
        #expect(try other.refreshFamilyID(forTokenHash: family.currentTokenHash) == nil)
        #expect(try !other.isAccessTokenRevoked(id: "jti-abandoned"))

        try store.updateFlow(id: f.id) { record, _ -> FlowUpdate<Void> in
            var record = record!
            guard case .approved(let approval) = record.status else { return FlowUpdate(result: ()) }
            try store.saveAccessToken(token)
            try store.createRefreshFamily(family)
            try store.updateRefreshFamily(id: family.id) { current in
                var next = current!
                next.record(.init(id: "jti-1", expiresAt: start.adding(seconds: 60)), now: start)
                return (next, ())
            }
            record.status = .redeemed(approval, at: start)
            record.issued = .init(accessToken: .init(id: "jti-1", expiresAt: start.adding(seconds: 60)), refreshFamilyID: family.id)
            return FlowUpdate(record: record, result: ())
        }
        #expect(try other.accessToken(hash: token.tokenHash) == token)
        let stored = try other.updateFlow(id: f.id) { record, _ in FlowUpdate(result: record) }
        #expect(stored?.status == .redeemed(alice, at: start))
        #expect(stored?.issued?.refreshFamilyID == family.id)
        #expect(try other.updateRefreshFamily(id: family.id) { current in (nil, current?.accessTokens.map(\.id)) } == ["jti-1"])
    }

    /// A family update that waited for another host's lock sees what that host wrote: the
    /// access token it appended too (a refresh-token reuse detected on host B must revoke the
    /// token host A has just issued from the family). The first version of the locked read
    /// joined the token list and, under READ COMMITTED, returned the list from before the wait.
    @Test func aFamilyUpdateThatWaitedForALockSeesTheTokenTheOtherAppended() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try PostgresFlowStore(connection: pg.connection()), b = try PostgresFlowStore(connection: pg.connection())
        for round in 0..<5 {
            let family = refreshFamily()
            try a.createRefreshFamily(family)
            let aHoldsTheLock = Tally(), seenByB = Tally()
            onThreads(2) { i in
                if i == 0 {
                    try? a.updateRefreshFamily(id: family.id) { current in
                        var next = current!
                        next.record(.init(id: "jti-new-\(round)", expiresAt: start.adding(seconds: 60)), now: start)
                        aHoldsTheLock.add(1)
                        usleep(300_000)  // B's locked read starts now and waits for this commit
                        return (next, ())
                    }
                } else {
                    while aHoldsTheLock.all.isEmpty { usleep(1_000) }
                    let ids = try? b.updateRefreshFamily(id: family.id) { current in (nil, current?.accessTokens.map(\.id) ?? []) }
                    seenByB.add(ids?.contains("jti-new-\(round)") == true ? 1 : 0)
                }
            }
            #expect(seenByB.all == [1], "round \(round): B read the family as it was before A's update")
        }
    }

    /// Every field of every record comes back as written, on another connection, including
    /// access-token ids that need quoting in an array literal.
    @Test func recordsRoundTripThroughTheirColumns() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let other = try PostgresFlowStore(connection: pg.connection())
        var f = flow(status: .redeemed(alice, at: start.adding(seconds: 3)))
        f.scope = ScopeSet(["openid", "email", "x:y"])
        f.issued = .init(accessToken: .init(id: "jti", expiresAt: start.adding(seconds: 9)), refreshFamilyID: nil)
        try store.createFlow(f)
        let denied = flow(status: .denied(at: start.adding(seconds: 2)))
        try store.createFlow(denied)
        for expected in [f, denied] {
            let (record, poll) = try other.updateFlow(id: expected.id) { r, p in FlowUpdate(result: (r, p)) }
            #expect(record == expected)
            #expect(poll == PollState(lastPollAt: nil, interval: expected.interval))
        }
        var token = accessToken(flowID: f.id)
        token.audience = "api"
        try store.saveAccessToken(token)
        #expect(try other.accessToken(hash: token.tokenHash) == token)
        var family = refreshFamily()
        family.revokedAt = start.adding(seconds: 7)
        family.accessTokens = [.init(id: "plain", expiresAt: start), .init(id: #"q"u\o,te {x} NULL"#, expiresAt: start.adding(seconds: 1)),
                               .init(id: "", expiresAt: start.adding(seconds: 2))]
        try store.createRefreshFamily(family)
        #expect(try other.updateRefreshFamily(id: family.id) { (nil, $0) } == family)
    }

    /// A poll costs three round trips: BEGIN with the locked read (one pipeline), one UPDATE of
    /// the poll state, COMMIT; a flow creation one. (Counted after a first poll, which also
    /// prepares the statements on this connection.)
    @Test func roundTripsPerPollAndPerCreation() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let c = pg.connection()
        let store = try PostgresFlowStore(connection: c)
        let f = flow()
        try store.createFlow(f)
        func poll(at now: UnixTime) throws {
            try store.updateFlow(id: f.id) { record, poll in
                guard case .refuse(_, let next) = DevicePolling.decide(record: record, poll: poll, clientID: "tv", now: now) else {
                    return FlowUpdate(result: ())
                }
                return FlowUpdate(poll: next, result: ())
            }
        }
        try poll(at: start.adding(seconds: 5))
        let before = (c.statementCount, c.roundTripCount)
        try poll(at: start.adding(seconds: 10))
        let perPoll = (c.statementCount - before.0, c.roundTripCount - before.1)
        try store.createFlow(flow())
        let beforeCreate = (c.statementCount, c.roundTripCount)
        try store.createFlow(flow())
        let perCreate = (c.statementCount - beforeCreate.0, c.roundTripCount - beforeCreate.1)
        print("PostgresFlowStore: poll \(perPoll.0) statements in \(perPoll.1) round trips, createFlow \(perCreate.0) in \(perCreate.1)")
        #expect(perPoll == (4, 3))
        #expect(perCreate == (1, 1))
    }

    /// A PostgreSQL failure is `.io` naming what was being done, and never quotes a value: here
    /// an operator's extra unique index refuses a token and the server's DETAIL names the key.
    @Test func errorsAreIOAndQuoteNoValue() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        try pg.connection().executeScript("CREATE UNIQUE INDEX one_token_each ON access_tokens (subject)")
        var token = accessToken(flowID: randomHex())
        token.subject = "subject-4f1c9e"
        try store.saveAccessToken(token)
        token.tokenHash = randomHex()
        do {
            try store.saveAccessToken(token)
            Issue.record("the unique index let a second token in")
        } catch let e as FlowStorageError {
            #expect(e.kind == .io)
            #expect(e.message.contains("save an access token") && e.message.contains("23505"), "\(e.message)")
            #expect(!e.message.contains("subject-4f1c9e") && !e.message.contains(token.tokenHash), "\(e.message)")
        }
        // A schema gone: every call is .io, and collection returns 0 without throwing.
        pg.remove()
        #expect(throws: FlowStorageError.self) { try store.createFlow(flow()) }
        #expect(throws: FlowStorageError.self) { try store.isAccessTokenRevoked(id: "x") }
        #expect(throws: FlowStorageError.self) { try store.updateFlow(id: randomHex()) { _, _ in FlowUpdate(result: ()) } }
        #expect(store.collectExpired(now: start, retentionSeconds: 0) == 0)
        do {
            _ = try store.subjectRevokedAt("alice")
            Issue.record("a dropped schema answered")
        } catch let e as FlowStorageError {
            #expect(e.kind == .io)
        }
    }

    @Test func summaryCountsFlowsAsTheCensusDoes() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let store = try PostgresFlowStore(connection: pg.connection())
        let now = start.adding(seconds: 100)
        for status in [DeviceFlowRecord.Status.pending, .pending, .approved(alice), .denied(at: start), .redeemed(alice, at: start)] {
            try store.createFlow(flow(status: status))
        }
        try store.createFlow(flow(createdAt: start.adding(seconds: -700)))
        try store.createFlow(flow(createdAt: start.adding(seconds: -700), status: .redeemed(alice, at: start)))
        try store.saveAccessToken(accessToken(flowID: randomHex()))
        try store.createRefreshFamily(refreshFamily())
        try store.revokeAccessToken(id: "jti", expiresAt: now)
        try store.revokeSubject("alice", at: now, keepUntil: now)
        var expected = PostgresSummary()
        (expected.pendingFlows, expected.approvedFlows, expected.deniedFlows, expected.redeemedFlows, expected.expiredFlows) = (2, 1, 1, 2, 1)
        (expected.accessTokens, expected.refreshFamilies, expected.revocations) = (1, 1, 2)
        #expect(try store.summary(now: now) == expected)
    }

    /// The user-code key is the file store's construction: HMAC-SHA-256 with the pepper kept
    /// in `devicegate_secrets`, lowercase hex, the same on every connection.
    @Test func userCodeKeysAreTheInstallsHMAC() throws {
        let pg = try #require(try TestPostgres())
        defer { pg.remove() }
        let a = try PostgresFlowStore(connection: pg.connection()), b = try PostgresFlowStore(connection: pg.connection())
        let pepper = try PostgresSecrets.load("user-code-pepper", pg.connection())
        #expect(a.userCodeKey(forCanonicalUserCode: "BCDFGHJK") == Encoding.hmacSHA256Hex(key: pepper, "BCDFGHJK"))
        #expect(b.userCodeKey(forCanonicalUserCode: "BCDFGHJK") == a.userCodeKey(forCanonicalUserCode: "BCDFGHJK"))
    }
}

// MARK: Records

let start = UnixTime(seconds: 1_800_000_000)
let alice = DeviceFlowRecord.Approval(subject: "alice", authTime: start, approvedAt: start)

func randomHex() -> String { Encoding.hex(SystemSecureRandom().bytes(32)) }

func flow(userCodeKey: String? = nil, createdAt: UnixTime = start, status: DeviceFlowRecord.Status = .pending) -> DeviceFlowRecord {
    DeviceFlowRecord(id: randomHex(), userCodeKey: userCodeKey ?? randomHex(), clientID: "tv", scope: ScopeSet(["openid"]),
                     createdAt: createdAt, expiresAt: createdAt.adding(seconds: 600), interval: 5, status: status)
}

func accessToken(flowID: String) -> AccessTokenRecord {
    AccessTokenRecord(tokenHash: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), issuedAt: start,
                      expiresAt: start.adding(seconds: 3600), flowID: flowID)
}

func refreshFamily() -> RefreshFamily {
    RefreshFamily(id: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), authTime: start, createdAt: start,
                  expiresAt: start.adding(seconds: 86_400), currentTokenHash: randomHex())
}

func exists(_ f: DeviceFlowRecord, in store: PostgresFlowStore) throws -> Bool {
    try store.updateFlow(id: f.id) { record, _ in FlowUpdate(result: record != nil) }
}
