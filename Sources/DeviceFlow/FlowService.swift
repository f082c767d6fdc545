/// The operations of the device flow, over any `FlowStorage`: what the HTTP endpoints, the
/// operator commands and (later) the verification page all call. It holds no I/O of its own;
/// time and randomness are parameters.
public struct FlowService {
    public let store: any FlowStorage
    public let clients: ClientRegistry
    public let policy: FlowPolicy
    public let issuer: any TokenIssuer
    public let random: any SecureRandom

    public init(store: any FlowStorage, clients: ClientRegistry, policy: FlowPolicy, issuer: any TokenIssuer,
                random: any SecureRandom = SystemSecureRandom()) {
        self.store = store
        self.clients = clients
        self.policy = policy
        self.issuer = issuer
        self.random = random
    }

    /// RFC 8628 §3.1–3.2: starts a flow for an authenticated client. A user-code collision with
    /// a live flow draws a new code (20^8 codes make a second collision vanishingly rare).
    public func authorizeDevice(client: ClientRegistration, scope: ScopeSet, now: UnixTime) throws -> DeviceAuthorizationResponse {
        var attempts = 0
        while true {
            let flow = NewFlow.draw(client: client, scope: scope, policy: policy, now: now, random: random,
                                    userCodeKey: store.userCodeKey(forCanonicalUserCode:))
            do {
                try store.createFlow(flow.record)
                return flow.response(policy: policy)
            } catch let error as FlowStorageError where error.kind == .userCodeInUse && attempts < 8 {
                attempts += 1
            }
        }
    }

    /// The outcome of a token-endpoint poll.
    public enum PollResult: Sendable, Equatable {
        case tokens(IssuedTokens)
        case error(OAuthError)
    }

    /// RFC 8628 §3.4–3.5: one poll, decided and acted on under the flow's lock, so that a code
    /// polled at the same moment on different workers is redeemed exactly once. Tokens are
    /// stored before the flow is marked redeemed: a crash in between leaves the flow approved
    /// and the client, which never saw a response, polls again.
    public func poll(deviceCode: String, client: ClientRegistration, now: UnixTime) throws -> PollResult {
        try store.updateFlow(id: Encoding.sha256Hex(deviceCode)) { record, poll in
            switch DevicePolling.decide(record: record, poll: poll, clientID: client.clientID, now: now) {
            case .refuse(let error, let newPoll):
                return FlowUpdate(poll: newPoll, result: .error(error))
            case .redeem(let approval):
                let record = record!
                let grant = TokenGrant(clientID: record.clientID, subject: approval.subject, scope: record.scope,
                                       authTime: approval.authTime, flowID: record.id)
                let tokens = try issuer.issue(grant, now: now)
                try store.saveAccessToken(tokens.accessTokenRecord)
                var redeemed = record
                redeemed.status = .redeemed(approval, at: now)
                return FlowUpdate(record: redeemed, result: .tokens(tokens))
            }
        }
    }

    /// Finds the flow a typed user code names, RFC 8628 §3.3. Nil for a malformed or unknown code.
    public func lookUp(userCode input: String) throws -> DeviceFlowRecord? {
        guard let canonical = policy.userCode.normalize(input),
              let id = try store.flowID(forUserCodeKey: store.userCodeKey(forCanonicalUserCode: canonical)) else { return nil }
        return try store.updateFlow(id: id) { record, _ in FlowUpdate(result: record) }
    }

    /// Approves the flow named by a user code, binding it to `subject` (RFC 8628 §3.3).
    public func approve(userCode: String, subject: String, authTime: UnixTime, now: UnixTime) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        try decide(userCode: userCode) { FlowDecision.approve($0, subject: subject, authTime: authTime, now: now) }
    }

    /// Denies the flow named by a user code: the device's next poll gets `access_denied`.
    public func deny(userCode: String, now: UnixTime) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        try decide(userCode: userCode) { FlowDecision.deny($0, now: now) }
    }

    private func decide(userCode: String, _ decision: (DeviceFlowRecord?) -> Result<DeviceFlowRecord, DecisionRefusal>) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        guard let canonical = policy.userCode.normalize(userCode),
              let id = try store.flowID(forUserCodeKey: store.userCodeKey(forCanonicalUserCode: canonical)) else {
            return .failure(.unknownCode)
        }
        return try store.updateFlow(id: id) { record, _ in
            // The index may point at an older flow that reused this code after expiry.
            let current = record.flatMap { $0.userCodeKey == store.userCodeKey(forCanonicalUserCode: canonical) ? $0 : nil }
            let result = decision(current)
            if case .success(let updated) = result { return FlowUpdate(record: updated, result: result) }
            return FlowUpdate(result: result)
        }
    }
}
