/// The operations of the device flow, over any `FlowStorage`: what the HTTP endpoints, the
/// verification page and the operator commands all call. It holds no I/O of its own;
/// time and randomness are parameters.
public struct FlowService {
    public let store: any FlowStorage
    public let clients: ClientRegistry
    public let policy: FlowPolicy
    public let issuer: any TokenIssuer
    public let random: any SecureRandom
    /// Lifetime of a refresh-token family, seconds from the approval.
    public var refreshTokenLifetime: Int
    /// Caps on live pending flows per client and per client address.
    public var admission = FlowAdmissionPolicy()
    /// Where those caps are counted, across every worker; nil counts nothing (no caps).
    public var admissionCounters: (any FlowAdmissionCounters)?
    /// The state filesystem's reserve; nil keeps none.
    public var reserve: StorageReserveGauge?

    public init(store: any FlowStorage, clients: ClientRegistry, policy: FlowPolicy, issuer: any TokenIssuer,
                random: any SecureRandom = SystemSecureRandom(), refreshTokenLifetime: Int = 30 * 86_400) {
        self.store = store
        self.clients = clients
        self.policy = policy
        self.issuer = issuer
        self.random = random
        self.refreshTokenLifetime = refreshTokenLifetime
    }

    /// RFC 8628 §3.1–3.2: starts a flow for an authenticated client. A user-code collision with
    /// a live flow draws a new code (20^8 codes make a second collision vanishingly rare).
    ///
    /// Before anything is written, the flow must be admitted: throws `AdmissionRefusal` while
    /// the state filesystem is below its reserve, or when the client or the address
    /// (`addressKey`, see `AddressKey`) or its IPv6 /48 (`networkKey`) already has its cap of live pending flows. `requester` is
    /// kept with the flow for the consent page (RFC 8628 §5.4) and the grant it leads to. The reserve
    /// is checked first, since it costs no lock; a flow counted and then not created (a full
    /// disk, a worker killed in between) holds its place until its code would have expired.
    public func authorizeDevice(client: ClientRegistration, scope: ScopeSet, addressKey: String? = nil, networkKey: String? = nil,
                                requester: DeviceRequester? = nil, now: UnixTime) throws -> DeviceAuthorizationResponse {
        guard client.allows(.deviceCode) else { throw OAuthError.unauthorizedClient("this client may not use the device authorization grant") }
        let policy = self.policy(for: client)
        if let refusal = reserve?.check(now: now) { throw refusal }
        if let counters = admissionCounters {
            let keys = admission.keys(clientID: client.clientID, addressKey: addressKey, networkKey: networkKey)
            if !keys.isEmpty, let refusal = try counters.admit(keys, expiresAt: now.adding(seconds: Int64(policy.deviceCodeLifetime)),
                                                             lifetimeSeconds: policy.deviceCodeLifetime, now: now) {
                throw refusal
            }
        }
        var attempts = 0
        while true {
            var flow = NewFlow.draw(client: client, scope: scope, policy: policy, now: now, random: random,
                                    userCodeKey: store.userCodeKey(forCanonicalUserCode:))
            flow.record.requester = requester
            do {
                try store.createFlow(flow.record)
                return flow.response(policy: policy)
            } catch let error as FlowStorageError where error.kind == .userCodeInUse && attempts < 8 {
                attempts += 1
            }
        }
    }

    /// The flow policy for one client: its own `lifetimes.device_code` and
    /// `lifetimes.poll_interval` where it sets them, else the global ones.
    public func policy(for client: ClientRegistration) -> FlowPolicy {
        var policy = self.policy
        if let lifetime = client.lifetimes.deviceCode { policy.deviceCodeLifetime = lifetime }
        if let interval = client.lifetimes.pollInterval { policy.pollInterval = interval }
        return policy
    }

    /// Seconds a new refresh-token family of `client` lives.
    public func refreshTokenLifetime(for client: ClientRegistration) -> Int {
        client.lifetimes.refreshToken ?? refreshTokenLifetime
    }

    /// Whether a grant of `scope` to `client` earns a refresh token: `offline_access`, or
    /// `refresh_tokens: true`, and only for a client allowed the refresh_token grant.
    func earnsRefreshToken(_ client: ClientRegistration, scope: ScopeSet) -> Bool {
        client.allows(.refreshToken) && (scope.contains("offline_access") || client.issuesRefreshTokens)
    }

    /// The outcome of a token-endpoint poll.
    public enum PollResult: Sendable, Equatable {
        case tokens(IssuedTokens)
        case error(OAuthError)
        /// Refused, and the grant the credential came from revoked: a device code redeemed
        /// again, or a refresh token rotated away and presented again. `reason` is for the audit log.
        case revoked(OAuthError, subject: String, grantID: String, reason: String)
        /// Refused as `revoked` is, but the revocation could not be written (a full disk): the
        /// answer is the same, the tokens stay alive until a later replay revokes them, and
        /// the caller must say so loudly. `cause` is the storage error's description.
        case revocationFailed(OAuthError, subject: String, grantID: String, reason: String, cause: String)
    }

    /// RFC 8628 §3.4–3.5: one poll, decided and acted on under the flow's lock, so that a code
    /// polled at the same moment on different workers is redeemed exactly once. Tokens are
    /// stored before the flow is marked redeemed: a crash in between leaves the flow approved
    /// and the client, which never saw a response, polls again.
    public func poll(deviceCode: String, client: ClientRegistration, now: UnixTime) throws -> PollResult {
        let id = Encoding.sha256Hex(deviceCode)
        // Most polls find the flow still pending: a store that knows that answers at once.
        if let error = try store.pollPendingFlow(id: id, clientID: client.clientID, now: now) { return .error(error) }
        return try store.updateFlow(id: id) { record, poll in
            switch DevicePolling.decide(record: record, poll: poll, clientID: client.clientID, now: now) {
            case .refuse(let error, let newPoll):
                return FlowUpdate(poll: newPoll, result: .error(error))
            case .replayed(let approval):
                let record = record!
                do {
                    if let issued = record.issued { try revoke(issued, now: now) }
                } catch {
                    // The code is refused all the same: a full disk must not turn a replay into
                    // a 503 the thief may retry for a better answer.
                    return FlowUpdate(result: .revocationFailed(.invalidGrant("device_code has already been redeemed"),
                                                                subject: approval.subject, grantID: record.id,
                                                                reason: "device_code_reused", cause: "\(error)"))
                }
                return FlowUpdate(result: .revoked(
                    .invalidGrant("device_code has already been redeemed; the tokens issued for it are now revoked"),
                    subject: approval.subject, grantID: record.id, reason: "device_code_reused"))
            case .redeem(let approval) where try store.isRevoked(subject: approval.subject, at: approval.approvedAt):
                // `devicegate users remove` ran between the approval and this poll.
                var denied = record!
                denied.status = .denied(at: now)
                return FlowUpdate(record: denied, result: .error(OAuthError(code: "access_denied", detail: "the user who approved this request has been removed")))
            case .redeem(let approval):
                let record = record!
                let grant = TokenGrant(clientID: record.clientID, subject: approval.subject, scope: record.scope,
                                       authTime: approval.authTime, flowID: record.id,
                                       issueRefreshToken: earnsRefreshToken(client, scope: record.scope),
                                       audience: client.audience, accessTokenLifetime: client.lifetimes.accessToken,
                                       idTokenLifetime: client.lifetimes.idToken)
                let (tokens, issued) = try issueAndStore(grant, client: client, requester: record.requester, now: now)
                var redeemed = record
                redeemed.status = .redeemed(approval, at: now)
                redeemed.issued = issued
                return FlowUpdate(record: redeemed, result: .tokens(tokens))
            }
        }
    }

    /// Issues the tokens of a person's grant and stores them before they are returned: the
    /// access token, and the refresh family when the grant earns one.
    func issueAndStore(_ grant: TokenGrant, client: ClientRegistration, requester: DeviceRequester?,
                       now: UnixTime) throws -> (IssuedTokens, DeviceFlowRecord.IssuedGrant) {
        let tokens = try issuer.issue(grant, now: now)
        try store.saveAccessToken(tokens.accessTokenRecord)
        let access = RefreshFamily.IssuedAccessToken(id: tokens.accessTokenID, expiresAt: tokens.accessTokenRecord.expiresAt)
        var familyID: String?
        if let refreshHash = tokens.refreshTokenHash {
            var family = RefreshFamily(
                id: Encoding.hex(random.bytes(32)), clientID: grant.clientID, subject: grant.subject, scope: grant.scope,
                authTime: grant.authTime, createdAt: now, expiresAt: now.adding(seconds: Int64(refreshTokenLifetime(for: client))),
                currentTokenHash: refreshHash, requester: requester)
            family.record(access, now: now)
            try store.createRefreshFamily(family)
            familyID = family.id
        }
        return (tokens, .init(accessToken: access, refreshFamilyID: familyID))
    }

    // MARK: Authorization code (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1)

    /// Issues the code of an approved authorization request (RFC 6749 §4.1.2), stored
    /// durably before it is returned; the caller redirects with it. Lives
    /// `AuthorizationCodes.lifetime` seconds.
    public func issueAuthorizationCode(for request: AuthorizationRequest, subject: String, authTime: UnixTime, now: UnixTime) throws -> String {
        let (code, id) = AuthorizationCodes.draw(random: random)
        try store.createAuthorizationCode(AuthorizationCodeRecord(
            id: id, clientID: request.clientID, subject: subject, scope: request.scope, authTime: authTime, createdAt: now,
            expiresAt: now.adding(seconds: Int64(AuthorizationCodes.lifetime)), redirectURI: request.redirectURI,
            codeChallenge: request.codeChallenge, nonce: request.nonce))
        return code
    }

    /// The authorization_code grant, RFC 6749 §4.1.3, decided under the code's lock so that
    /// two redemptions at once issue tokens once. A code presented again revokes what it
    /// produced (RFC 6749 §4.1.2). `requester` (the token request's address and product) is kept
    /// with the grant ("Your devices").
    public func redeemAuthorizationCode(_ code: String, client: ClientRegistration, redirectURI: String?, codeVerifier: String?,
                                        requester: DeviceRequester? = nil, now: UnixTime) throws -> PollResult {
        guard client.allows(.authorizationCode) else {
            return .error(.unauthorizedClient("this client may not use the authorization_code grant"))
        }
        return try store.updateAuthorizationCode(id: Encoding.sha256Hex(code)) { record in
            switch AuthorizationCodeDecision.decide(record: record, clientID: client.clientID, redirectURI: redirectURI,
                                                    codeVerifier: codeVerifier, now: now) {
            case .refuse(let error):
                return (nil, .error(error))
            case .replayed:
                let record = record!
                do {
                    if let issued = record.issued { try revoke(issued, now: now) }
                } catch {
                    return (nil, .revocationFailed(.invalidGrant("code has already been used"), subject: record.subject,
                                                   grantID: record.id, reason: "authorization_code_reused", cause: "\(error)"))
                }
                return (nil, .revoked(.invalidGrant("code has already been used; the tokens issued for it are now revoked"),
                                      subject: record.subject, grantID: record.id, reason: "authorization_code_reused"))
            case .redeem where try store.isRevoked(subject: record!.subject, at: record!.authTime):
                var spent = record!
                spent.redeemedAt = now
                return (spent, .error(.invalidGrant("the user who approved this request has been removed")))
            case .redeem:
                var record = record!
                let grant = TokenGrant(clientID: record.clientID, subject: record.subject, scope: record.scope, authTime: record.authTime,
                                       flowID: record.id, issueRefreshToken: earnsRefreshToken(client, scope: record.scope),
                                       audience: client.audience, nonce: record.nonce, accessTokenLifetime: client.lifetimes.accessToken,
                                       idTokenLifetime: client.lifetimes.idToken)
                let (tokens, issued) = try issueAndStore(grant, client: client, requester: requester, now: now)
                record.redeemedAt = now
                record.issued = issued
                return (record, .tokens(tokens))
            }
        }
    }

    // MARK: Client credentials (RFC 6749 §4.4)

    /// The client_credentials grant: a confidential client's own access token, with the
    /// client as subject (`client:<client_id>`, `ClientRegistration.machineSubject`), within its allowed scopes; never a refresh token (§4.4.3) nor an
    /// id_token (no person authenticated). Nothing is kept but the access token's record.
    public func clientCredentials(client: ClientRegistration, requestedScope: ScopeSet?, now: UnixTime) throws -> PollResult {
        guard client.isConfidential, client.allows(.clientCredentials) else {
            return .error(.unauthorizedClient("this client may not use the client_credentials grant"))
        }
        let scope: ScopeSet
        switch client.resolveScopes(requested: requestedScope) {
        case .success(let s): scope = s
        case .failure(let error): return .error(error)
        }
        let grant = TokenGrant(clientID: client.clientID, subject: ClientRegistration.machineSubject(client.clientID), scope: scope, authTime: now,
                               flowID: "client_credentials:" + Encoding.hex(random.bytes(16)), issueRefreshToken: false,
                               audience: client.audience, issuesIDToken: false, accessTokenLifetime: client.lifetimes.accessToken)
        let tokens = try issuer.issue(grant, now: now)
        try store.saveAccessToken(tokens.accessTokenRecord)
        return .tokens(tokens)
    }

    /// The refresh_token grant, RFC 6749 §6, rotating the token on every use (RFC 9700
    /// §4.14.2). A token that was already rotated away revokes its whole family, including the
    /// access tokens issued from it.
    ///
    /// `address` is the refreshing client's, kept as the grant's last use ("Your devices").
    public func refresh(refreshToken: String, client: ClientRegistration, requestedScope: ScopeSet?, from address: String? = nil,
                        now: UnixTime) throws -> PollResult {
        guard client.allows(.refreshToken) else { return .error(.unauthorizedClient("this client may not use the refresh_token grant")) }
        let hash = Encoding.sha256Hex(refreshToken)
        guard let familyID = try store.refreshFamilyID(forTokenHash: hash) else {
            return .error(.unknownRefreshToken)
        }
        return try store.updateRefreshFamily(id: familyID) { family in
            let decision = RefreshDecision.decide(family: family, presentedHash: hash, clientID: client.clientID, requestedScope: requestedScope, now: now)
            if case .refuse = decision {} else if var revoked = family, try store.isRevoked(subject: revoked.subject, at: revoked.createdAt) {
                // `devicegate users remove` ran after the family was created: it dies on first use.
                try revoke(&revoked, now: now)
                return (revoked, .error(.invalidGrant("refresh_token has been revoked: its user was removed")))
            }
            switch decision {
            case .refuse(let error):
                return (nil, .error(error))
            case .reuseDetected:
                var revoked = family!
                try revoke(&revoked, now: now)
                return (revoked, .revoked(.invalidGrant("refresh_token was already used; the grant has been revoked"),
                                          subject: revoked.subject, grantID: revoked.id, reason: "refresh_token_reused"))
            case .rotate(let scope):
                var updated = family!
                let grant = TokenGrant(clientID: updated.clientID, subject: updated.subject, scope: scope,
                                       authTime: updated.authTime, flowID: updated.id, issueRefreshToken: true, audience: client.audience,
                                       accessTokenLifetime: client.lifetimes.accessToken, idTokenLifetime: client.lifetimes.idToken)
                let tokens = try issuer.issue(grant, now: now)
                try store.saveAccessToken(tokens.accessTokenRecord)
                updated.currentTokenHash = tokens.refreshTokenHash!
                updated.lastUsedAt = now
                updated.lastUsedFrom = address.map { DeviceRequester(address: $0, userAgent: nil).address }
                updated.record(.init(id: tokens.accessTokenID, expiresAt: tokens.accessTokenRecord.expiresAt), now: now)
                return (updated, .tokens(tokens))
            }
        }
    }

    public enum RefreshRevocation: Sendable, Equatable {
        case revoked
        case unknown
        /// RFC 7009 §2.1: the token was issued to another client; the request is refused.
        case otherClient
    }

    /// RFC 7009 revocation of a refresh token: revokes its family and the access tokens issued
    /// from it.
    public func revokeRefreshToken(_ token: String, client: ClientRegistration, now: UnixTime) throws -> RefreshRevocation {
        guard let familyID = try store.refreshFamilyID(forTokenHash: Encoding.sha256Hex(token)) else { return .unknown }
        return try store.updateRefreshFamily(id: familyID) { family in
            guard var family else { return (nil, .unknown) }
            guard family.clientID == client.clientID else { return (nil, .otherClient) }
            guard family.revokedAt == nil else { return (nil, .revoked) }
            try revoke(&family, now: now)
            return (family, .revoked)
        }
    }

    // MARK: A person's grants ("Your devices") and the operator's `grants` command

    /// The grants `subject` approved that can still be used (refresh families, RFC 6749 §6),
    /// newest first. Grants without a refresh token are not listed: they end with their access
    /// token.
    public func grants(subject: String, now: UnixTime) throws -> [RefreshFamily] {
        let revokedAt = try store.subjectRevokedAt(subject)
        return try store.refreshFamilies(subject: subject)
            .filter { family in
                family.subject == subject && family.isLive(at: now) && !(revokedAt.map { family.createdAt <= $0 } ?? false)
            }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    public enum GrantRevocation: Sendable, Equatable {
        /// Revoked now, with the access tokens issued from it.
        case revoked(RefreshFamily)
        /// It was revoked before; nothing changed.
        case alreadyRevoked(RefreshFamily)
        /// No such grant, or (when `subject` was given) not that subject's: the two are not told
        /// apart, so that one person cannot probe for another's grant ids.
        case unknown
    }

    /// Revokes one grant (a refresh family) and every live access token issued from it, as
    /// RFC 7009 revocation of its refresh token does; seen by every worker at once. With
    /// `subject`, only that subject's grant is touched (a person disconnecting a device).
    public func revokeGrant(id: String, subject: String?, now: UnixTime) throws -> GrantRevocation {
        guard Encoding.isHex256(id) else { return .unknown }
        return try store.updateRefreshFamily(id: id) { family in
            guard var family else { return (nil, .unknown) }
            if let subject, family.subject != subject { return (nil, .unknown) }
            guard family.revokedAt == nil else { return (nil, .alreadyRevoked(family)) }
            try revoke(&family, now: now)
            return (family, .revoked(family))
        }
    }

    /// Marks a family revoked and revokes the live access tokens issued from it.
    private func revoke(_ family: inout RefreshFamily, now: UnixTime) throws {
        family.revokedAt = now
        for access in family.accessTokens where access.expiresAt > now {
            try store.revokeAccessToken(id: access.id, expiresAt: access.expiresAt)
        }
    }

    /// Revokes what a redeemed device code produced: its access token and its refresh family
    /// with every access token rotated out of it. Runs under the flow's lock, taking the
    /// family's (the only order in which the two are ever nested). Idempotent: a replay
    /// presented again rewrites nothing.
    private func revoke(_ issued: DeviceFlowRecord.IssuedGrant, now: UnixTime) throws {
        if issued.accessToken.expiresAt > now, try !store.isAccessTokenRevoked(id: issued.accessToken.id) {
            try store.revokeAccessToken(id: issued.accessToken.id, expiresAt: issued.accessToken.expiresAt)
        }
        guard let familyID = issued.refreshFamilyID else { return }
        try store.updateRefreshFamily(id: familyID) { family in
            guard var family, family.revokedAt == nil else { return (nil, ()) }
            try revoke(&family, now: now)
            return (family, ())
        }
    }

    /// The state of a refresh token for introspection (RFC 7662): the family when the token is
    /// its current, unrevoked, unexpired one.
    public func activeRefreshFamily(_ token: String, now: UnixTime) throws -> RefreshFamily? {
        let hash = Encoding.sha256Hex(token)
        guard let familyID = try store.refreshFamilyID(forTokenHash: hash) else { return nil }
        return try store.updateRefreshFamily(id: familyID) { family in
            guard let family, family.revokedAt == nil, now < family.expiresAt, family.currentTokenHash == hash,
                  try !store.isRevoked(subject: family.subject, at: family.createdAt) else { return (nil, nil) }
            return (nil, family)
        }
    }

    /// Finds the flow a typed user code names, RFC 8628 §3.3. Nil for a malformed or unknown code.
    public func lookUp(userCode input: String) throws -> DeviceFlowRecord? {
        guard let id = try flowID(userCode: input) else { return nil }
        return try store.updateFlow(id: id) { record, _ in FlowUpdate(result: record) }
    }

    /// Approves the flow named by a user code, binding it to `subject` (RFC 8628 §3.3).
    /// `shown`, when given, must accept the flow's id, else nothing changes and the answer is
    /// `.otherFlow`: the decision is bound to the flow the person saw, not to a code another
    /// flow may have drawn since.
    public func approve(userCode: String, subject: String, authTime: UnixTime, now: UnixTime,
                        shown: ((String) -> Bool)? = nil) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        try decide(userCode: userCode, shown: shown) { FlowDecision.approve($0, subject: subject, authTime: authTime, now: now) }
    }

    /// Denies the flow named by a user code: the device's next poll gets `access_denied`.
    /// `shown` as for `approve`.
    public func deny(userCode: String, now: UnixTime, shown: ((String) -> Bool)? = nil) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        try decide(userCode: userCode, shown: shown) { FlowDecision.deny($0, now: now) }
    }

    /// The flow a typed user code names, through the HMAC-keyed index; nil for a malformed or
    /// unknown code (a malformed one costs no store lookup).
    private func flowID(userCode input: String) throws -> String? {
        guard let canonical = policy.userCode.normalize(input) else { return nil }
        return try store.flowID(forUserCodeKey: store.userCodeKey(forCanonicalUserCode: canonical))
    }

    private func decide(userCode: String, shown: ((String) -> Bool)?,
                        _ decision: (DeviceFlowRecord?) -> Result<DeviceFlowRecord, DecisionRefusal>) throws -> Result<DeviceFlowRecord, DecisionRefusal> {
        guard let id = try flowID(userCode: userCode) else { return .failure(.unknownCode) }
        // A flow's id never changes, so checking it before taking the flow's lock is enough:
        // whatever the index names by then, only this flow is updated.
        if let shown, !shown(id) { return .failure(.otherFlow) }
        return try store.updateFlow(id: id) { record, _ in
            // The index entry named by a code always points at the newest flow holding it: a code
            // reused after expiry replaced the entry, so an older flow is never reached here.
            let result = decision(record)
            if case .success(let updated) = result { return FlowUpdate(record: updated, result: result) }
            return FlowUpdate(result: result)
        }
    }
}
