import DeviceFlow
import DeviceGateTesting

/// The promises of the storage contract as checks that return the violation they find, nil
/// when the backend keeps the promise. Tests `#expect` nil for every real backend, and expect a
/// violation from a deliberately broken one (`BrokenBackendTests`): so the suite is shown to
/// catch what it claims to catch.
enum Promise {
    /// An approved flow polled by `callers` threads at once is redeemed exactly once: each
    /// caller decides under `updateFlow`'s exclusion, so only the first sees it approved.
    static func exactlyOnceRedemption(_ store: any FlowStorage, callers: Int = 8) throws -> String? {
        let flow = newFlow(status: .approved(alice))
        try store.createFlow(flow)
        let redeemed = Tally()
        let failures = Tally()
        onThreads(callers) { i in
            do {
                let won = try store.updateFlow(id: flow.id) { record, _ -> FlowUpdate<Bool> in
                    guard var record, case .approved(let approval) = record.status else { return FlowUpdate(result: false) }
                    record.status = .redeemed(approval, at: start.adding(seconds: 1))
                    return FlowUpdate(record: record, result: true)
                }
                if won { redeemed.add(i) }
            } catch {
                failures.add(i)
            }
        }
        if !failures.all.isEmpty { return "\(failures.all.count) of \(callers) updates threw" }
        if redeemed.all.count != 1 { return "redeemed \(redeemed.all.count) times by \(callers) concurrent callers" }
        let after = try store.updateFlow(id: flow.id) { record, _ in FlowUpdate(result: record?.status.name) }
        return after == "redeemed" ? nil : "flow is \(after ?? "gone") after its redemption"
    }

    /// `pollPendingFlow` answers only for a flow whose record is pending, unexpired and the
    /// client's, and answers as `DevicePolling.decide` would: never for a flow created
    /// approved, approved since (by another worker too: `reopen`), another client's, or
    /// expired. A store may always answer nil.
    static func pendingAnswersOnlyForPendingFlows(_ store: any FlowStorage, reopen: () throws -> any FlowStorage) throws -> String? {
        let pending = newFlow()
        try store.createFlow(pending)
        let now = start.adding(seconds: 1)
        for (answer, expected) in [(try store.pollPendingFlow(id: pending.id, clientID: pending.clientID, now: now), OAuthError.authorizationPending),
                                   (try store.pollPendingFlow(id: pending.id, clientID: pending.clientID, now: now), .slowDown)] {
            if let answer, answer != expected { return "a pending flow's poll was answered \(answer.code), not \(expected.code)" }
        }
        if try store.pollPendingFlow(id: pending.id, clientID: "someone-else", now: now) != nil { return "answered for another client" }
        if try store.pollPendingFlow(id: pending.id, clientID: pending.clientID, now: pending.expiresAt) != nil { return "answered for an expired flow" }
        if try store.pollPendingFlow(id: randomHex(), clientID: pending.clientID, now: now) != nil { return "answered for an unknown flow" }
        let approved = newFlow(status: .approved(alice))
        try store.createFlow(approved)
        if try store.pollPendingFlow(id: approved.id, clientID: approved.clientID, now: now) != nil { return "answered for a flow created approved" }
        let other = try reopen()
        let found = try other.updateFlow(id: pending.id) { record, _ -> FlowUpdate<Bool> in
            guard var record else { return FlowUpdate(result: false) }
            record.status = .approved(alice)
            return FlowUpdate(record: record, result: true)
        }
        if !found { return "another worker does not find the flow" }
        for worker in [store, other] where try worker.pollPendingFlow(id: pending.id, clientID: pending.clientID, now: now.adding(seconds: 60)) != nil {
            return "answered as pending after the flow was approved"
        }
        return nil
    }

    /// Of `callers` flows created at once with the same user-code key, exactly one gets it,
    /// and the key names that flow.
    static func liveCodeNeverShared(_ store: any FlowStorage, callers: Int = 8) throws -> String? {
        let key = randomHex()
        let flows = (0..<callers).map { _ in newFlow(userCodeKey: key) }
        let created = Tally()
        let other = Tally()
        onThreads(callers) { i in
            do {
                try store.createFlow(flows[i])
                created.add(i)
            } catch let error as FlowStorageError where error.kind == .userCodeInUse {
            } catch {
                other.add(i)
            }
        }
        if !other.all.isEmpty { return "\(other.all.count) creations failed other than with userCodeInUse" }
        guard created.all.count == 1, let winner = created.all.first else { return "\(created.all.count) live flows hold one user code" }
        let holder = try store.flowID(forUserCodeKey: key)
        return holder == flows[winner].id ? nil : "the user code names \(holder ?? "nothing"), not the flow that claimed it"
    }

    /// `callers` threads each present the current refresh token of one family and rotate it:
    /// exactly one rotates; every other sees the token rotated away (reuse).
    static func singleRotation(_ store: any FlowStorage, callers: Int = 8) throws -> String? {
        let first = randomHex()
        let family = RefreshFamily(id: randomHex(), clientID: "tv", subject: "alice", scope: ScopeSet(["openid"]), authTime: start,
                                   createdAt: start, expiresAt: start.adding(seconds: 86_400), currentTokenHash: first)
        try store.createRefreshFamily(family)
        let rotated = Tally(), reused = Tally(), other = Tally()
        onThreads(callers) { i in
            do {
                try store.updateRefreshFamily(id: family.id) { current -> (family: RefreshFamily?, result: Void) in
                    switch RefreshDecision.decide(family: current, presentedHash: first, clientID: "tv", requestedScope: nil, now: start) {
                    case .rotate:
                        var next = current!
                        next.currentTokenHash = randomHex()
                        rotated.add(i)
                        return (next, ())
                    case .reuseDetected: reused.add(i)
                    case .refuse: other.add(i)
                    }
                    return (nil, ())
                }
            } catch {
                other.add(i)
            }
        }
        if rotated.all.count != 1 { return "one refresh token rotated \(rotated.all.count) times" }
        if reused.all.count != callers - 1 { return "\(reused.all.count) of \(callers - 1) late presenters detected as reuse" }
        return other.all.isEmpty ? nil : "\(other.all.count) presenters refused or failed"
    }
}
