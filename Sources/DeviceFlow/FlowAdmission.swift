/// Whether a new device authorization (RFC 8628 §3.1) may create a flow: the caps on live
/// pending flows per client and per client address, and the state filesystem's reserve.
///
/// Nothing here stops a person: approvals, redemptions, refreshes and sign-ins never pass
/// through admission. Only the unauthenticated step that costs disk space does.
public struct FlowAdmissionPolicy: Sendable, Equatable {
    /// Live pending flows one client may have (0: no cap). One client is a whole product
    /// line, so this bounds what a leaked public client_id can cost, not what one device does.
    public var maxPendingPerClient: Int
    /// Live pending flows from one address (IPv4 /32, IPv6 /64; 0: no cap). A fleet of TVs
    /// behind one NAT shares it.
    public var maxPendingPerAddress: Int
    /// Live pending flows from one IPv6 /48 (0: no cap). A home or office usually holds a /56
    /// or a /48, that is 256 or 65,536 /64s: without this, one subscriber could fill the
    /// client's cap by walking its /64s.
    public var maxPendingPerNetwork: Int

    public init(maxPendingPerClient: Int = 100_000, maxPendingPerAddress: Int = 1_000, maxPendingPerNetwork: Int = 5_000) {
        self.maxPendingPerClient = maxPendingPerClient
        self.maxPendingPerAddress = maxPendingPerAddress
        self.maxPendingPerNetwork = maxPendingPerNetwork
    }

    /// The counters a new flow is counted under, narrowest first: address, IPv6 /48
    /// (`networkKey`, nil for IPv4), client. Their locks are taken in this order, always the
    /// same, so two admissions never wait for each other in a cycle.
    public func keys(clientID: String, addressKey: String?, networkKey: String? = nil) -> [AdmissionKey] {
        var keys: [AdmissionKey] = []
        if let addressKey, maxPendingPerAddress > 0 {
            keys.append(AdmissionKey(name: "address:\(addressKey)", limit: Int64(maxPendingPerAddress), kind: .address))
        }
        if let networkKey, maxPendingPerNetwork > 0 {
            keys.append(AdmissionKey(name: "network:\(networkKey)", limit: Int64(maxPendingPerNetwork), kind: .network))
        }
        if maxPendingPerClient > 0 {
            keys.append(AdmissionKey(name: "client:\(clientID)", limit: Int64(maxPendingPerClient), kind: .client))
        }
        return keys
    }
}

/// One counter of live pending flows and its cap.
public struct AdmissionKey: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case client, address, network }
    public var name: String
    public var limit: Int64
    public var kind: Kind
    public init(name: String, limit: Int64, kind: Kind) { self.name = name; self.limit = limit; self.kind = kind }
}

/// A device authorization that was not admitted, and when to try again.
public struct AdmissionRefusal: Error, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// A cap on live pending flows was reached.
        case cap(AdmissionKey.Kind, limit: Int64)
        /// The state filesystem is close to full (blocks or inodes).
        case reserve
    }

    public var reason: Reason
    public var retryAfterSeconds: Int64

    public init(_ reason: Reason, retryAfterSeconds: Int64) {
        self.reason = reason
        self.retryAfterSeconds = max(1, retryAfterSeconds)
    }

    /// The RFC 6749 §5.2 answer.
    ///
    /// Over a cap: HTTP 429 (RFC 6585 §4) with `temporarily_unavailable`, not `slow_down`.
    /// RFC 8628 §3.5 defines `slow_down` for the token endpoint only, where it means "add 5
    /// seconds to your polling interval"; a device library that meets it on the device
    /// authorization endpoint has no interval to grow and may not recognise it at all.
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1) says what is true, "cannot handle the
    /// request now, try later", is the code clients already treat as retryable, and
    /// `Retry-After` tells them when a place frees up.
    ///
    /// Reserve: HTTP 503 `temporarily_unavailable`, as for any other storage trouble.
    public var error: OAuthError {
        switch reason {
        case .cap(let kind, let limit):
            let whom = switch kind {
            case .client: "this client"
            case .address: "this network address"
            case .network: "this IPv6 network (/48)"
            }
            return OAuthError(code: "temporarily_unavailable",
                              detail: "too many device authorizations pending for \(whom) (at most \(limit)); retry after \(retryAfterSeconds) s",
                              status: 429)
        case .reserve:
            return .temporarilyUnavailable("the server is refusing new device authorizations while its state storage is nearly full; try again later")
        }
    }
}

/// Counters of live pending flows shared by every worker (the file store's lives in the state
/// directory, flock-ed; `MemoryAdmissionCounters` in the tests).
public protocol FlowAdmissionCounters: AnyObject {
    /// Under every key's lock at once: refuses if any key has reached its limit, otherwise
    /// counts one flow expiring at `expiresAt` under each. Checking and counting under the
    /// same locks means concurrent workers can never overshoot a cap.
    func admit(_ keys: [AdmissionKey], expiresAt: UnixTime, lifetimeSeconds: Int, now: UnixTime) throws -> AdmissionRefusal?
}

extension AdmissionKey {
    /// The decision for one key, pure: refuse when the live count has reached the limit.
    public func refusal(_ buckets: ExpiryBuckets, now: UnixTime) -> AdmissionRefusal? {
        guard buckets.live(now: now) >= limit else { return nil }
        return AdmissionRefusal(.cap(kind, limit: limit), retryAfterSeconds: buckets.secondsUntilAPlaceFrees(now: now))
    }
}
