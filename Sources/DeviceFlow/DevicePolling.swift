/// The token endpoint's decision for a device_code grant: RFC 8628 §3.4–3.5.
public enum PollDecision: Sendable, Equatable {
    /// Answer with this error. `poll` is the soft state to save, or nil to leave it alone.
    case refuse(OAuthError, poll: PollState?)
    /// The flow is approved and not yet redeemed: issue tokens, then mark it redeemed.
    case redeem(DeviceFlowRecord.Approval)
    /// The code was already redeemed: refuse with `invalid_grant` and revoke what it produced,
    /// since a second redemption means a second holder (RFC 6749 §4.1.2).
    case replayed(DeviceFlowRecord.Approval)
}

public enum DevicePolling {
    /// How much `slow_down` grows the interval: RFC 8628 §3.5, "the interval MUST be
    /// increased by 5 seconds for this and all subsequent requests".
    public static let slowDownIncrement = 5

    /// Decides one poll. Pure: the caller holds the flow's lock and acts on the result.
    ///
    /// Order of checks:
    /// 1. unknown code, another client's code, or a code already redeemed: `invalid_grant`
    ///    (RFC 6749 §5.2; the code is bound to the client it was issued to); a redeemed code
    ///    presented again by its own client is `replayed`, expired or not;
    /// 2. past `expires_in`: `expired_token`, whether or not it was approved (§3.5);
    /// 3. denied: `access_denied` (§3.5);
    /// 4. approved: redeem;
    /// 5. pending: `slow_down` if this poll came sooner than the current interval after the
    ///    previous one, growing the interval by 5 s; otherwise `authorization_pending` (§3.5).
    public static func decide(record: DeviceFlowRecord?, poll: PollState, clientID: String, now: UnixTime) -> PollDecision {
        guard let record else {
            return .refuse(.unknownDeviceCode, poll: nil)
        }
        guard record.clientID == clientID else {
            return .refuse(.invalidGrant("device_code was not issued to this client"), poll: nil)
        }
        if case .redeemed(let approval, _) = record.status {
            return .replayed(approval)
        }
        if record.isExpired(at: now) {
            return .refuse(.expiredToken, poll: nil)
        }
        switch record.status {
        case .denied:
            return .refuse(.accessDenied, poll: nil)
        case .approved(let approval):
            return .redeem(approval)
        case .pending, .redeemed:
            let answer = pending(poll: poll, grantedInterval: record.interval, now: now)
            return .refuse(answer.error, poll: answer.poll)
        }
    }

    /// Step 5 alone, for a flow known to be pending, unexpired and this client's: `slow_down`
    /// if this poll came sooner than the current interval after the previous one, growing the
    /// interval by 5 s; otherwise `authorization_pending` (RFC 8628 §3.5). Returns the answer
    /// and the soft state to save. A store that can tell those three facts without reading
    /// the record (`FlowStorage.pollPendingFlow`) answers with this.
    public static func pending(poll: PollState, grantedInterval: Int, now: UnixTime) -> (error: OAuthError, poll: PollState) {
        let interval = max(poll.interval, grantedInterval)
        if let last = poll.lastPollAt, now.milliseconds(since: last) < Int64(interval) * 1000 {
            return (.slowDown, PollState(lastPollAt: now, interval: interval + slowDownIncrement))
        }
        return (.authorizationPending, PollState(lastPollAt: now, interval: interval))
    }
}

/// Why a person's approval or denial was refused.
public enum DecisionRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownCode
    case expired
    case alreadyApproved
    case alreadyDenied
    case alreadyRedeemed
    /// The code now names another flow than the one the person was shown (the shown one
    /// expired and a new flow drew the same code): nothing is decided (issue 10, item 7).
    case otherFlow

    public var description: String {
        switch self {
        case .unknownCode: return "no pending request has this code"
        case .expired: return "this code has expired; start again on the device"
        case .alreadyApproved: return "this request was already approved"
        case .alreadyDenied: return "this request was already denied"
        case .alreadyRedeemed: return "this request was already completed"
        case .otherFlow: return "this code now belongs to another request than the one shown; enter the code again"
        }
    }
}

/// Approval and denial: RFC 8628 §3.3. Only a pending, unexpired flow can be decided, once.
public enum FlowDecision {
    public static func approve(_ record: DeviceFlowRecord?, subject: String, authTime: UnixTime, now: UnixTime) -> Result<DeviceFlowRecord, DecisionRefusal> {
        check(record, now: now).map { record in
            var updated = record
            updated.status = .approved(.init(subject: subject, authTime: authTime, approvedAt: now))
            return updated
        }
    }

    public static func deny(_ record: DeviceFlowRecord?, now: UnixTime) -> Result<DeviceFlowRecord, DecisionRefusal> {
        check(record, now: now).map { record in
            var updated = record
            updated.status = .denied(at: now)
            return updated
        }
    }

    private static func check(_ record: DeviceFlowRecord?, now: UnixTime) -> Result<DeviceFlowRecord, DecisionRefusal> {
        guard let record else { return .failure(.unknownCode) }
        switch record.status {
        case .approved: return .failure(.alreadyApproved)
        case .denied: return .failure(.alreadyDenied)
        case .redeemed: return .failure(.alreadyRedeemed)
        case .pending: break
        }
        guard !record.isExpired(at: now) else { return .failure(.expired) }
        return .success(record)
    }
}
