import DeviceFlow

/// Forwards every call to another flow store (a memory store unless given): tests override
/// one method to break a promise on purpose (the conformance suite's broken backends) or to
/// make the store fail (a database that is down).
open class ForwardingFlowStore: FlowStorage, @unchecked Sendable {
    public let inner: any FlowStorage

    public init(_ inner: any FlowStorage = MemoryFlowStore()) { self.inner = inner }

    open func userCodeKey(forCanonicalUserCode code: String) -> String { inner.userCodeKey(forCanonicalUserCode: code) }
    open func createFlow(_ record: DeviceFlowRecord) throws { try inner.createFlow(record) }
    open func flowID(forUserCodeKey key: String) throws -> String? { try inner.flowID(forUserCodeKey: key) }
    open func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R {
        try inner.updateFlow(id: id, body)
    }
    open func pollPendingFlow(id: String, clientID: String, now: UnixTime) throws -> OAuthError? {
        try inner.pollPendingFlow(id: id, clientID: clientID, now: now)
    }
    open func saveAccessToken(_ record: AccessTokenRecord) throws { try inner.saveAccessToken(record) }
    open func accessToken(hash: String) throws -> AccessTokenRecord? { try inner.accessToken(hash: hash) }
    open func createRefreshFamily(_ family: RefreshFamily) throws { try inner.createRefreshFamily(family) }
    open func refreshFamilyID(forTokenHash hash: String) throws -> String? { try inner.refreshFamilyID(forTokenHash: hash) }
    open func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R {
        try inner.updateRefreshFamily(id: id, body)
    }
    open func revokeAccessToken(id: String, expiresAt: UnixTime) throws { try inner.revokeAccessToken(id: id, expiresAt: expiresAt) }
    open func isAccessTokenRevoked(id: String) throws -> Bool { try inner.isAccessTokenRevoked(id: id) }
    open func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws { try inner.revokeSubject(subject, at: at, keepUntil: keepUntil) }
    open func subjectRevokedAt(_ subject: String) throws -> UnixTime? { try inner.subjectRevokedAt(subject) }
    open func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws { try inner.createAuthorizationCode(record) }
    open func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        try inner.updateAuthorizationCode(id: id, body)
    }
    open func refreshFamilies(subject: String) throws -> [RefreshFamily] { try inner.refreshFamilies(subject: subject) }
    open func everyRefreshFamily() throws -> [RefreshFamily] { try inner.everyRefreshFamily() }
    open func everyFlow() throws -> [DeviceFlowRecord] { try inner.everyFlow() }
}
