import DeviceFlow

/// `FlowStorage` in memory: what the HTTP, web and token tests run on, and the second backend
/// of `StorageConformanceTests`. Not a toy: it keeps every promise of the contract (see
/// `FlowStorage`), under one lock (`StateLock`) that every call and every update closure holds.
///
/// Where the file store's behaviour is a choice rather than a promise, this one makes the same
/// choice, so tests behave the same on both: an unknown flow id runs the closure with nil and
/// writes nothing back; a claim whose flow expired before a new flow was created is replaced;
/// the refresh index keeps every hash a family ever had until the family expires.
public final class MemoryFlowStore: FlowStorage, ExpiredStateCollecting, @unchecked Sendable {
    let lock = StateLock()
    private let pepper: [UInt8]
    private var flows: [String: DeviceFlowRecord] = [:]
    private var polls: [String: PollState] = [:]
    /// User-code key → the flow that claimed it (and that flow's expiry at claim time).
    private var claims: [String: (flowID: String, expiresAt: UnixTime)] = [:]
    private var accessTokens: [String: AccessTokenRecord] = [:]
    private var families: [String: RefreshFamily] = [:]
    /// Refresh-token hash → (family id, family expiry), for current and rotated-away tokens.
    private var refreshIndex: [String: (familyID: String, expiresAt: UnixTime)] = [:]
    /// Revoked access-token id → the token's expiry.
    private var revokedTokens: [String: UnixTime] = [:]
    private var subjectRevocations: [String: (keepUntil: UnixTime, revokedAt: UnixTime)] = [:]
    private var authorizationCodes: [String: AuthorizationCodeRecord] = [:]

    /// `pepper` keys the user-code HMAC, as the state directory's secret does.
    public init(pepper: [UInt8] = Array(repeating: 7, count: 32)) {
        self.pepper = pepper
    }

    public func userCodeKey(forCanonicalUserCode code: String) -> String {
        Encoding.hmacSHA256Hex(key: pepper, code)
    }

    public func createFlow(_ record: DeviceFlowRecord) throws {
        try lock.withLock {
            // The file store's rule: a claim of a flow expired before this one was created is free.
            if let holder = claims[record.userCodeKey], holder.expiresAt >= record.createdAt {
                throw FlowStorageError(.userCodeInUse, "user code collision")
            }
            precondition(flows[record.id] == nil, "a flow id is drawn from 256 random bits")
            claims[record.userCodeKey] = (record.id, record.expiresAt)
            flows[record.id] = record
            polls[record.id] = PollState(interval: record.interval)
        }
    }

    public func flowID(forUserCodeKey key: String) throws -> String? {
        lock.withLock { claims[key]?.flowID }
    }

    public func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        try lock.withLock {
            guard let record = flows[id] else { return try body(nil, PollState(interval: 0)).result }
            let update = try body(record, polls[id] ?? PollState(interval: record.interval))
            if let newRecord = update.record {
                precondition(newRecord.id == id, "a flow update may not change the flow's id")
                flows[id] = newRecord
            }
            if let poll = update.poll { polls[id] = poll }
            return update.result
        }
    }

    public func saveAccessToken(_ record: AccessTokenRecord) throws {
        lock.withLock { accessTokens[record.tokenHash] = record }
    }

    public func accessToken(hash: String) throws -> AccessTokenRecord? {
        lock.withLock { accessTokens[hash] }
    }

    public func createRefreshFamily(_ family: RefreshFamily) throws {
        lock.withLock {
            refreshIndex[family.currentTokenHash] = (family.id, family.expiresAt)
            families[family.id] = family
        }
    }

    public func refreshFamilyID(forTokenHash hash: String) throws -> String? {
        lock.withLock { refreshIndex[hash]?.familyID }
    }

    public func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
        try lock.withLock {
            let family = families[id]
            let (updated, result) = try body(family)
            if let updated {
                precondition(updated.id == id, "a family update may not change its id")
                if updated.currentTokenHash != family?.currentTokenHash {
                    refreshIndex[updated.currentTokenHash] = (id, updated.expiresAt)
                }
                families[id] = updated
            }
            return result
        }
    }

    public func revokeAccessToken(id: String, expiresAt: UnixTime) throws {
        lock.withLock { revokedTokens[id] = expiresAt }
    }

    public func isAccessTokenRevoked(id: String) throws -> Bool {
        lock.withLock { revokedTokens[id] != nil }
    }

    public func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws {
        lock.withLock {
            let previous = subjectRevocations[subject]
            subjectRevocations[subject] = (max(keepUntil, previous?.keepUntil ?? keepUntil), max(at, previous?.revokedAt ?? at))
        }
    }

    public func subjectRevokedAt(_ subject: String) throws -> UnixTime? {
        lock.withLock { subjectRevocations[subject]?.revokedAt }
    }

    public func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws {
        lock.withLock {
            precondition(authorizationCodes[record.id] == nil, "a code id is drawn from 256 random bits")
            authorizationCodes[record.id] = record
        }
    }

    public func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        try lock.withLock {
            let update = try body(authorizationCodes[id])
            if let record = update.record {
                precondition(record.id == id, "an update may not change the code's id")
                authorizationCodes[id] = record
            }
            return update.result
        }
    }

    public func refreshFamilies(subject: String) throws -> [RefreshFamily] {
        lock.withLock { families.values.filter { $0.subject == subject } }
    }

    public func everyRefreshFamily() throws -> [RefreshFamily] {
        lock.withLock { Array(families.values) }
    }

    public func everyFlow() throws -> [DeviceFlowRecord] {
        lock.withLock { Array(flows.values) }
    }

    @discardableResult
    public func collectExpired(now: UnixTime, retentionSeconds: Int) -> Int {
        lock.withLock {
            let cutoff = now.adding(seconds: -Int64(retentionSeconds))
            let before = flows.count + claims.count + accessTokens.count + families.count + refreshIndex.count
                + revokedTokens.count + subjectRevocations.count + authorizationCodes.count
            for (id, record) in flows where record.expiresAt < cutoff {
                flows[id] = nil
                polls[id] = nil
            }
            claims = claims.filter { $0.value.expiresAt >= cutoff }
            accessTokens = accessTokens.filter { $0.value.expiresAt >= now }
            families = families.filter { $0.value.expiresAt >= now }
            refreshIndex = refreshIndex.filter { $0.value.expiresAt >= now }
            revokedTokens = revokedTokens.filter { $0.value.milliseconds >= now.milliseconds }
            subjectRevocations = subjectRevocations.filter { $0.value.keepUntil.milliseconds >= now.milliseconds }
            authorizationCodes = authorizationCodes.filter { $0.value.collectableAt >= now }
            let after = flows.count + claims.count + accessTokens.count + families.count + refreshIndex.count
                + revokedTokens.count + subjectRevocations.count + authorizationCodes.count
            return before - after
        }
    }

    /// Every flow, for tests that look at the whole state (the file store lists its shards).
    public var allFlows: [DeviceFlowRecord] { lock.withLock { Array(flows.values) } }
}
