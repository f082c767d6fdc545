import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import Logging
import Observability

/// "Your devices" (`/device/connected`, issue 14): the grants a person approved, each with a
/// Disconnect button, reachable without a device code; and the consent page's "who is asking"
/// (RFC 8628 §5.4).
///
/// - `GET  /device/connected[?disconnected=<grant id>]` the list (signed in), else the sign-in
///   form (embedded) or the "not signed in" page (delegated). `disconnected` shows the one-line
///   confirmation only for a grant of this person revoked in the last ten minutes.
/// - `POST /device/connected` `grant=<id>` disconnects that grant of the signed-in person and
///   answers 303 back to the list (Post/Redirect/Get, so a reload does not post again);
///   `step=sign_in` with `username`, `password` signs in and answers 303 to the list.
///   Both carry the CSRF token, as every form of the page does.
extension VerificationPage {
    /// The `who_is_asking` partial's values for the consent page of `record`.
    func whoIsAsking(_ record: DeviceFlowRecord, _ visitor: Visitor) -> [String: Any] {
        WhoIsAsking(record, approverAddress: visitor.remoteAddress, now: clock.now())?.values(in: visitor.messages) ?? [:]
    }

    func answerDevices(method: String, _ request: HTTPRequest, logger: Logger) throws -> HTTPResponse {
        switch method {
        case "GET":
            let now = clock.now()
            let visitor = try identify(request, now: now)
            return try devicesPage(200, visitor, notice: disconnectedNotice(request.query, visitor, now: now), now: now)
        case "POST":
            return try post(request, logger: logger, devicesForm)
        default:
            let visitor = try identify(request, now: clock.now())
            let title = visitor.messages.text("devices_title")
            return page(405, "message", visitor, ["title": title, "heading": title, "text": visitor.messages.text("devices_not_allowed")],
                        extra: [("Allow", "GET, HEAD, POST")])
        }
    }

    /// The list of the visitor's live grants (`FlowService.grants`), or the way to sign in.
    func devicesPage(_ status: Int, _ visitor: Visitor, notice: String? = nil, error: String? = nil, now: UnixTime) throws -> HTTPResponse {
        guard let subject = visitor.subject else {
            if settings.signIn == .delegated { return notSignedInDelegated(visitor) }
            return devicesSignInPage(status, visitor, error: error)
        }
        let messages = visitor.messages
        var values: [String: Any] = ["title": messages.text("devices_title"), "action": path.connected]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        values["grants"] = try service.grants(subject: subject, now: now).map { grantValues($0, messages, now: now) }
        return page(status, "devices", visitor, values)
    }

    /// "Your devices" asking for a sign-in first (embedded sign-in).
    func devicesSignInPage(_ status: Int, _ visitor: Visitor, error: String? = nil, username: String = "") -> HTTPResponse {
        var anonymous = visitor
        anonymous.subject = nil
        var values: [String: Any] = ["title": visitor.messages.text("devices_title"), "action": path.connected, "username": username]
        if let error { values["error"] = error }
        return page(status, "devices", anonymous, values)
    }

    /// One grant as the list shows it: who, what in plain words, when, and from where (the
    /// last refresh's address, else the device's, with the device's product).
    func grantValues(_ family: RefreshFamily, _ messages: MessageCatalog, now: UnixTime) -> [String: Any] {
        let scopes: [[String: Any]] = family.scope.map {
            ["name": $0, "description": localisation.scopeDescription($0, in: messages, configured: settings.scopeDescriptions)]
        }
        let lastFrom = family.lastUsedFrom.flatMap { $0.isEmpty ? nil : $0 }
        var values: [String: Any] = [
            "client_name": service.clients[family.clientID]?.displayName ?? family.clientID,
            "scopes": scopes,
            "approved_at": TimeInWords.since(family.createdAt, now: now).text(in: messages),
            "last_used": family.lastUsedAt.map { TimeInWords.since($0, now: now).text(in: messages) } ?? messages.text("devices_not_yet"),
            "from_address": lastFrom ?? family.requester?.address ?? "",
            "grant_id": family.id,
        ]
        if let product = family.requester?.userAgent { values["product"] = product }
        return values
    }

    /// The confirmation after a disconnect, only when it is true: `disconnected` names a grant
    /// of this visitor that was revoked in the last ten minutes, so that a link someone sends
    /// cannot show "… is disconnected" when nothing was. It names the client's configured name,
    /// never words from the query.
    func disconnectedNotice(_ query: String, _ visitor: Visitor, now: UnixTime) throws -> String? {
        guard let subject = visitor.subject, let fields = try? FormDecoding.decode(Array(query.utf8)),
              let id = (try? fields.single("disconnected")) ?? nil,
              Encoding.isHex256(id) else { return nil }
        let family = try service.store.updateRefreshFamily(id: id) { (nil, $0) }
        guard let family, family.subject == subject, let revokedAt = family.revokedAt,
              revokedAt <= now, now.milliseconds - revokedAt.milliseconds <= 600_000 else { return nil }
        let name = service.clients[family.clientID]?.displayName ?? family.clientID
        return visitor.messages.text("devices_disconnected", ["client_name": name])
    }

    /// `POST /device/connected`, its CSRF token already checked.
    func devicesForm(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        if ((try? form.single("step")) ?? nil) == "sign_in" { return try devicesSignIn(request, form, visitor, now, logger) }
        guard let subject = visitor.subject else {
            if settings.signIn == .delegated { return notSignedInDelegated(visitor) }
            return try devicesPage(401, visitor, now: now)
        }
        let id = ((try? form.single("grant")) ?? nil) ?? ""
        switch try service.revokeGrant(id: id, subject: subject, now: now) {
        case .revoked(let family):
            logger.info("grant disconnected", metadata: ["client.id": "\(family.clientID)", "user": "\(subject)"])
            audit(.tokenRevoked, request, user: subject, clientID: family.clientID, now: now,
                  details: [("grant", family.id), ("via", "web"), ("reason", "disconnected")])
            return redirect(to: disconnectedLocation(family), cookies: visitor.setCookies)
        case .alreadyRevoked(let family):
            // A second click, or another tab: the grant is gone either way.
            return redirect(to: disconnectedLocation(family), cookies: visitor.setCookies)
        case .unknown:
            // Unknown, malformed and someone else's ids alike: nothing tells them apart.
            logger.notice("disconnect refused: not a grant of this person", metadata: ["user": "\(subject)"])
            return try devicesPage(404, visitor, error: visitor.messages.text("devices_not_found"), now: now)
        }
    }

    func disconnectedLocation(_ family: RefreshFamily) -> String {
        path.connected + "?disconnected=" + family.id
    }

    /// The sign-in form of "Your devices": the same checks as `/device/signin`
    /// (`checkPassword`), then back to the list rather than to code entry.
    func devicesSignIn(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        guard settings.signIn == .embedded else { return notSignedInDelegated(visitor) }
        let outcome = try checkPassword(request, form, visitor, now, logger) { username in
            devicesSignInPage(403, visitor, error: visitor.messages.text("devices_wrong_password"), username: username)
        }
        switch outcome {
        case .refused(let response): return response
        case .signedIn(let signedIn): return redirect(to: path.connected, cookies: signedIn.setCookies)
        }
    }
}
