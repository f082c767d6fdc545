/// The durable record of one device authorization flow, keyed by the SHA-256 of its device code.
///
/// Neither the device code nor the user code is held: `id` is SHA-256(device_code) and
/// `userCodeKey` is HMAC-SHA-256(pepper, user_code), so a copy of the state directory
/// cannot be replayed against the token endpoint.
public struct DeviceFlowRecord: Sendable, Equatable {
    /// What the person decided, and when.
    public struct Approval: Sendable, Equatable {
        /// The subject the flow is bound to (OIDC `sub`).
        public var subject: String
        /// When the person authenticated (OIDC `auth_time`).
        public var authTime: UnixTime
        /// When they approved.
        public var approvedAt: UnixTime

        public init(subject: String, authTime: UnixTime, approvedAt: UnixTime) {
            self.subject = subject
            self.authTime = authTime
            self.approvedAt = approvedAt
        }
    }

    public enum Status: Sendable, Equatable {
        case pending
        case approved(Approval)
        case denied(at: UnixTime)
        /// Tokens were issued; the code can never be redeemed again (RFC 8628 §5.2 style one-shot).
        case redeemed(Approval, at: UnixTime)

        public var name: String {
            switch self {
            case .pending: return "pending"
            case .approved: return "approved"
            case .denied: return "denied"
            case .redeemed: return "redeemed"
            }
        }
    }

    /// SHA-256(device_code), lowercase hex: the flow's identity and file name.
    public var id: String
    /// HMAC-SHA-256(pepper, canonical user code), lowercase hex.
    public var userCodeKey: String
    /// The client the device code was issued to. A poll by any other client is `invalid_grant`
    /// (RFC 6749 §5.2; the class of bug behind Keycloak CVE-2023-2585).
    public var clientID: String
    public var scope: ScopeSet
    public var createdAt: UnixTime
    public var expiresAt: UnixTime
    /// The polling interval granted in the authorization response, in seconds.
    public var interval: Int
    public var status: Status
    /// What redemption issued; set with `.redeemed`. nil for records written before it was kept.
    public var issued: IssuedGrant?
    /// Where the device authorization request came from (RFC 8628 §5.4: shown on the consent
    /// page). nil for records written before it was kept.
    public var requester: DeviceRequester?

    /// The tokens a redeemed code produced, by id, so that presenting the code again can revoke
    /// them. RFC 6749 §4.1.2, said of authorization codes and as true of device codes: "If an
    /// authorization code is used more than once, the authorization server MUST deny the request
    /// and SHOULD revoke (when possible) all tokens previously issued based on that
    /// authorization code."
    public struct IssuedGrant: Sendable, Equatable {
        /// The access token's id (JWT `jti`, or an opaque token's SHA-256) and expiry.
        public var accessToken: RefreshFamily.IssuedAccessToken
        /// The refresh-token family, when one was issued.
        public var refreshFamilyID: String?

        public init(accessToken: RefreshFamily.IssuedAccessToken, refreshFamilyID: String?) {
            self.accessToken = accessToken
            self.refreshFamilyID = refreshFamilyID
        }
    }

    public init(id: String, userCodeKey: String, clientID: String, scope: ScopeSet, createdAt: UnixTime,
                expiresAt: UnixTime, interval: Int, status: Status = .pending, issued: IssuedGrant? = nil,
                requester: DeviceRequester? = nil) {
        self.id = id
        self.userCodeKey = userCodeKey
        self.clientID = clientID
        self.scope = scope
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.interval = interval
        self.status = status
        self.issued = issued
        self.requester = requester
    }

    public func isExpired(at now: UnixTime) -> Bool { now >= expiresAt }
}

/// Soft per-flow polling state: when the device last polled and its current interval.
///
/// This is deliberately not durable. Losing it in a crash costs at most one poll that is
/// answered `authorization_pending` where `slow_down` was due, and an interval that falls
/// back to the granted one.
public struct PollState: Sendable, Equatable {
    public var lastPollAt: UnixTime?
    /// Current interval in seconds: the granted one plus 5 s for every `slow_down`.
    public var interval: Int

    public init(lastPollAt: UnixTime? = nil, interval: Int) {
        self.lastPollAt = lastPollAt
        self.interval = interval
    }
}
