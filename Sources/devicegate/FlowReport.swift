import DeviceFlow

/// One device flow as `flows list` reports it: its client, state, age, expiry, who asked (the
/// device's address and product, RFC 8628 §5.4) and, once decided, for whom. Never the device
/// code or the user code, nor their hashes (the flow id and the user-code key): a listing must
/// not help anyone redeem or approve a flow.
struct FlowReport {
    let flow: DeviceFlowRecord
    /// `pending`, `approved`, `denied`, `redeemed`, or `expired` for a pending or approved
    /// flow whose code has expired (RFC 8628 §3.5 `expired_token`).
    let state: String

    init(_ flow: DeviceFlowRecord, now: UnixTime) {
        self.flow = flow
        switch flow.status {
        case .pending, .approved: state = flow.isExpired(at: now) ? "expired" : flow.status.name
        case .denied, .redeemed: state = flow.status.name
        }
    }

    /// The subject a decided flow was approved for; nil while pending or when denied.
    var subject: String? {
        switch flow.status {
        case .approved(let approval), .redeemed(let approval, _): approval.subject
        case .pending, .denied: nil
        }
    }

    private var address: String? { flow.requester.flatMap { $0.address.isEmpty ? nil : $0.address } }

    /// The `--json` object; members in docs/operations.md ("flows").
    func json(now: UnixTime) -> JSONObject {
        var object = JSONObject()
        object.add("client_id", flow.clientID)
        object.add("state", state)
        object.add("scopes", flow.scope.tokens)
        object.add("created_at", time: flow.createdAt)
        object.add("age_seconds", Int(max(0, now.milliseconds(since: flow.createdAt) / 1000)))
        object.add("expires_at", time: flow.expiresAt)
        object.add("address", optional: address)
        object.add("product", optional: flow.requester?.userAgent)
        object.add("subject", optional: subject)
        return object
    }

    static func table(_ reports: [FlowReport], now: UnixTime) -> TextTable {
        var table = TextTable("CLIENT", "STATE", "AGE", "EXPIRES", "ADDRESS", "PRODUCT", "SUBJECT", "SCOPES")
        for report in reports {
            let flow = report.flow
            table.append(flow.clientID, report.state, OperatorTime.age(from: flow.createdAt, to: now), OperatorTime.text(flow.expiresAt),
                         report.address ?? "", flow.requester?.userAgent ?? "", report.subject ?? "", "\(flow.scope)")
        }
        return table
    }
}
