import DeviceFlow

/// One line of the audit log: who did what to which flow, from where, when.
///
/// Secrets never appear: no device code, user code, token or password; a flow is named by the
/// first 12 hex digits of its id (itself a SHA-256 of the device code), enough to follow one
/// flow through the log and nothing more.
public struct AuditEvent: Sendable, Equatable {
    /// What happened. The raw value is the `event` field and the metrics label.
    public enum Kind: String, Sendable, CaseIterable {
        /// RFC 8628 §3.1–3.2: a device asked for codes.
        case flowStarted = "flow.started"
        /// RFC 8628 §3.3: the person approved the request.
        case flowApproved = "flow.approved"
        /// RFC 8628 §3.3: the person denied it.
        case flowDenied = "flow.denied"
        /// RFC 8628 §3.5 / RFC 6749 §6: tokens issued for a device code (redemption) or a refresh token.
        case tokenIssued = "token.issued"
        /// `invalid_grant`: a device code or refresh token that is unknown, another client's,
        /// already redeemed, or reused (RFC 9700 §4.14: the whole family is revoked).
        case grantRefused = "grant.refused"
        /// RFC 7009: a token was revoked.
        case tokenRevoked = "token.revoked"
        /// The verification page: a sign-in with the right password.
        case signInSucceeded = "signin.succeeded"
        /// A sign-in with a wrong password or unknown user.
        case signInFailed = "signin.failed"
        /// A user code typed on the verification page that matched no pending flow (RFC 8628 §5.1).
        case userCodeRejected = "usercode.rejected"
        /// A failure limit was reached: further attempts are refused until the window ends.
        case lockout = "lockout"
    }

    public var kind: Kind
    public var time: UnixTime
    /// Client address (REMOTE_ADDR), or `local` for a command run on the host.
    public var address: String
    public var user: String?
    public var clientID: String?
    public var flowID: String?
    public var scope: String?
    public var requestID: String?
    /// Anything else, in order: `via`, `grant`, `reason`, `limit`, `until`...
    public var details: [(String, String)]

    public init(_ kind: Kind, time: UnixTime, address: String, user: String? = nil, clientID: String? = nil,
                flowID: String? = nil, scope: String? = nil, requestID: String? = nil, details: [(String, String)] = []) {
        self.kind = kind
        self.time = time
        self.address = address
        self.user = user
        self.clientID = clientID
        self.flowID = flowID.map { String($0.prefix(12)) }
        self.scope = scope
        self.requestID = requestID.flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
        self.details = details
    }

    public static func == (lhs: AuditEvent, rhs: AuditEvent) -> Bool {
        lhs.jsonLine() == rhs.jsonLine()
    }

    /// The JSON object of one line, fields in a fixed order so lines read well with `grep`.
    public func jsonLine() -> [UInt8] {
        var object = JSONObject()
        object.add("time", Timestamp.iso8601(time))
        object.add("event", kind.rawValue)
        if let user { object.add("user", String(user.prefix(256))) }
        if let clientID { object.add("client_id", clientID) }
        object.add("ip", String(address.prefix(64)))
        if let flowID { object.add("flow", flowID) }
        if let scope { object.add("scope", String(scope.prefix(1024))) }
        for (name, value) in details { object.add(name, String(value.prefix(256))) }
        if let requestID { object.add("request_id", requestID) }
        return object.finished()
    }
}

/// Where audit events are written.
public protocol AuditSink: AnyObject {
    /// Writes the event; throws when it could not be written (the caller counts and logs that).
    func write(_ event: AuditEvent) throws
}

/// UTC timestamps without Foundation.
public enum Timestamp {
    /// `2026-11-26T23:59:59.123Z` (RFC 3339, UTC, milliseconds).
    public static func iso8601(_ time: UnixTime) -> String {
        let ms = time.milliseconds
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = Int(ms - seconds * 1000)
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }
}
