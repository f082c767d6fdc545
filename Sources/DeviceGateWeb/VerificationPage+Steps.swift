import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import Logging
import Observability

/// The steps of the verification page: code entry, sign-in, decision, sign-out.
extension VerificationPage {
    /// What a typed user code leads to: a pending flow, or the page explaining why not. Every
    /// outcome but a pending flow counts as a failed entry (RFC 8628 §5.1); while the limit is
    /// reached nothing is looked up at all.
    enum CodeOutcome {
        case pending(DeviceFlowRecord, display: String)
        case refused(HTTPResponse)
    }

    func resolve(code typed: String, request: HTTPRequest, visitor: Visitor, now: UnixTime, logger: Logger) throws -> CodeOutcome {
        let attempt = try guardian.beginUserCode(address: request.remoteAddress, now: now)
        if let refusal = attempt.refusal {
            logger.notice("user-code entry rate limited", metadata: ["limit.global": "\(refusal.global)"])
            return .refused(tooManyAttempts(visitor, refusal, now: now, what: "codes"))
        }
        let format = configuration.userCode
        guard let canonical = format.normalize(typed) else {
            try rejectUserCode(request, attempt, reason: typed.isEmpty ? "empty" : "malformed", now: now)
            let error = typed.isEmpty ? visitor.messages.text("code_empty")
                : visitor.messages.text(format.charset == .digits ? "code_invalid_digits" : "code_invalid_letters",
                                        ["length": "\(format.length)", "example": placeholder])
            return .refused(try enterPage(request, visitor: visitor, status: 400, code: typed, error: error))
        }
        let display = format.display(canonical)
        let record = try service.lookUp(userCode: canonical)
        func fail(_ status: Int, _ error: String) throws -> CodeOutcome {
            try rejectUserCode(request, attempt, reason: ["404": "unknown", "410": "expired"]["\(status)"] ?? "decided", now: now)
            return .refused(try enterPage(request, visitor: visitor, status: status, code: display, error: visitor.messages.text(error)))
        }
        guard let record else {
            logger.info("unknown user code entered")
            return try fail(404, "code_unknown")
        }
        if record.isExpired(at: now) {
            return try fail(410, "code_expired")
        }
        switch record.status {
        case .pending:
            guardian.pass(attempt)
            return .pending(record, display: display)
        case .approved, .redeemed: return try fail(409, "code_used")
        case .denied: return try fail(409, "code_denied")
        }
    }

    func clientName(_ record: DeviceFlowRecord) -> String {
        service.clients[record.clientID]?.displayName ?? record.clientID
    }

    func consentPage(_ record: DeviceFlowRecord, display: String, visitor: Visitor, extra: [(String, String)] = []) -> HTTPResponse {
        let t = visitor.messages, client = clientName(record)
        return page(200, "consent", visitor, [
            "title": t.text("consent_title"), "client_name": client, "user_code": display, "scopes": scopeList(record.scope, visitor),
            "action": path.decision, "flow_binding": flowBinding(flowID: record.id, for: visitor),
            "lead": t.markup("consent_lead", ["client": client], emphasised: ["client"]),
            "warning": t.markup("consent_warning", ["warning_strong": t.text("consent_warning_strong")], emphasised: ["warning_strong"]),
            "signed_in_note": t.markup("consent_signed_in_as", ["user": visitor.subject ?? "", "client": client], emphasised: ["user"]),
        ].merging(whoIsAsking(record, visitor)) { own, _ in own }, extra: extra, switchTo: enterLink(code: display))
    }

    func signInPage(_ status: Int, visitor: Visitor, record: DeviceFlowRecord?, display: String?, username: String = "",
                    error: String? = nil) -> HTTPResponse {
        // After a failed sign-in the flow is not looked up again: a wrong password must not
        // turn the sign-in form into a way around the user-code limit.
        let t = visitor.messages
        var values: [String: Any] = ["title": t.text("signin_title"), "action": path.signIn, "username": username]
        if let record {
            values["client_name"] = clientName(record)
            values["lead"] = t.markup("signin_lead_client", ["client": clientName(record)], emphasised: ["client"])
        }
        if let display { values["user_code"] = display }
        if let error { values["error"] = error }
        return page(status, "signin", visitor, values, switchTo: display.map { enterLink(code: $0) })
    }

    func notSignedInDelegated(_ visitor: Visitor) -> HTTPResponse {
        messagePage(403, visitor, title: "delegated_title", heading: "delegated_heading", text: "delegated_text", detail: "delegated_detail")
    }

    // MARK: Audit

    func audit(_ kind: AuditEvent.Kind, _ request: HTTPRequest, user: String? = nil, clientID: String? = nil, flowID: String? = nil,
               scope: String? = nil, now: UnixTime, details: [(String, String)] = []) {
        telemetry.record(AuditEvent(kind, time: now, address: request.remoteAddress, user: user, clientID: clientID,
                                    flowID: flowID, scope: scope, requestID: request.requestID, details: details))
    }

    func auditLockouts(_ lockouts: [BruteForceGuard.Lockout], _ request: HTTPRequest, user: String? = nil, now: UnixTime) {
        for lockout in lockouts {
            audit(.lockout, request, user: lockout.limit == "sign_in_per_user" ? user : nil, now: now,
                  details: [("limit", lockout.limit), ("until", Timestamp.iso8601(lockout.until))])
        }
    }

    /// A typed user code that leads to no pending flow: its attempt stays counted against the
    /// RFC 8628 §5.1 limits, and it is written to the audit log (the code itself never is).
    func rejectUserCode(_ request: HTTPRequest, _ attempt: BruteForceGuard.Attempt, reason: String, now: UnixTime) throws {
        let lockouts = guardian.fail(attempt)
        audit(.userCodeRejected, request, now: now, details: [("reason", reason)])
        auditLockouts(lockouts, request, now: now)
    }

    // MARK: Steps

    /// `POST /device`: the person confirmed a code.
    func submitCode(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        let typed = (try? form.single("user_code")) ?? nil
        switch try resolve(code: typed ?? "", request: request, visitor: visitor, now: now, logger: logger) {
        case .refused(let response): return response
        case .pending(let record, let display):
            if visitor.subject != nil { return consentPage(record, display: display, visitor: visitor) }
            if settings.signIn == .delegated { return notSignedInDelegated(visitor) }
            return signInPage(200, visitor: visitor, record: record, display: display)
        }
    }

    /// `POST /device/signin`: embedded sign-in against the users file.
    func signIn(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        guard settings.signIn == .embedded else { return notSignedInDelegated(visitor) }
        let typedCode = ((try? form.single("user_code")) ?? nil) ?? ""
        let format = configuration.userCode
        let display = format.normalize(typedCode).map(format.display)
        let outcome = try checkPassword(request, form, visitor, now, logger) { username in
            signInPage(403, visitor: visitor, record: nil, display: display, username: username, error: visitor.messages.text("signin_wrong"))
        }
        let signedIn: Visitor
        switch outcome {
        case .refused(let response): return response
        case .signedIn(let visitor): signedIn = visitor
        }
        guard display != nil else { return redirect(to: base, cookies: signedIn.setCookies) }
        switch try resolve(code: typedCode, request: request, visitor: signedIn, now: now, logger: logger) {
        case .refused(let response): return response
        case .pending(let record, let shown): return consentPage(record, display: shown, visitor: signedIn)
        }
    }

    /// What a submitted username and password amount to.
    enum SignInOutcome {
        /// The visitor with its new session (cookie set, CSRF token rebound).
        case signedIn(Visitor)
        case refused(HTTPResponse)
    }

    /// The embedded sign-in of every form that has one (`/device/signin`, the authorization
    /// page): the per-address and per-user limits (RFC 8628 §5.1), a hash slot, the decoy hash
    /// for unknown names, the audit events, and a fresh session. `wrongPassword` renders the
    /// form again with the (truncated) username.
    func checkPassword(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger,
                       wrongPassword: (String) -> HTTPResponse) throws -> SignInOutcome {
        let username = ((try? form.single("username")) ?? nil) ?? ""
        let password = ((try? form.single("password")) ?? nil) ?? ""
        let countedName = UsersFile.isValidUsername(username) ? username : "(invalid)"
        let attempt = try guardian.beginSignIn(address: request.remoteAddress, username: countedName, now: now)
        if let refusal = attempt.refusal {
            logger.notice("sign-in rate limited", metadata: ["user": "\(countedName)"])
            return .refused(tooManyAttempts(visitor, refusal, now: now, what: "passwords"))
        }
        let users = PageTemplates.readFile(settings.usersFile).map { UsersFile.parse($0).file }
        if users == nil { logger.error("cannot read the users file", metadata: ["path": "\(settings.usersFile)"]) }
        let hash = UsersFile.isValidUsername(username) ? users?.hash(for: username) : nil
        // An unknown user still costs one hash computation of the users file's own cost, so
        // timing does not tell names apart. The decoy is looked up for known names too: finding
        // it tallies the file's settings, which costs time in proportion to the file.
        // No free hash slot: nothing computed, nothing counted.
        let decoy = decoys.decoy(for: users)
        guard let verified = try hashLimiter.withSlot({
            PasswordHashing.verify(password, hash: hash ?? decoy) && hash != nil
        }) else {
            guardian.pass(attempt)
            return .refused(hashingBusy(visitor, logger: logger))
        }
        guard verified else {
            let lockouts = guardian.fail(attempt)
            logger.notice("sign-in failed", metadata: ["user": "\(countedName)"])
            audit(.signInFailed, request, user: countedName, now: now, details: [("reason", hash == nil ? "unknown user" : "wrong password")])
            auditLockouts(lockouts, request, user: countedName, now: now)
            return .refused(wrongPassword(String(username.prefix(64))))
        }
        guardian.pass(attempt)
        // A new session id on every sign-in (no fixation); the old session, if any, ends.
        if let old = visitor.sessionID { try store.deleteSession(idHash: Encoding.sha256Hex(old)) }
        let id = WebCookies.newToken(random)
        let session = WebSession(subject: username, authTime: now, expiresAt: now.adding(seconds: Int64(settings.sessionLifetime)))
        try store.saveSession(idHash: Encoding.sha256Hex(id), session)
        logger.info("signed in", metadata: ["user": "\(username)"])
        audit(.signInSucceeded, request, user: username, now: now)
        var signedIn = visitor
        signedIn.sessionID = id
        signedIn.session = session
        signedIn.subject = username
        signedIn.authTime = now
        signedIn.setCookies = visitor.setCookies.filter { !$0.1.hasPrefix(cookies.sessionName + "=") } + [cookies.setSession(id)]
        signedIn.csrfToken = csrfToken(for: signedIn)
        return .signedIn(signedIn)
    }

    /// `POST /device/decision`: approve or deny, RFC 8628 §3.3. Binds the flow to the signed-in
    /// subject; a flow already decided (by anyone) stays as it is.
    func decide(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        guard let subject = visitor.subject, let authTime = visitor.authTime else {
            if settings.signIn == .delegated { return notSignedInDelegated(visitor) }
            return messagePage(401, visitor, title: "signin_title", heading: "decision_signin_heading", text: "decision_signin_text")
        }
        let action = (try? form.single("action")) ?? nil
        guard action == "approve" || action == "deny" else {
            return messagePage(400, visitor, title: "error_bad_request_title", heading: "error_failed_heading", text: "decision_choose")
        }
        let typed = ((try? form.single("user_code")) ?? nil) ?? ""
        let attempt = try guardian.beginUserCode(address: request.remoteAddress, now: now)
        if let refusal = attempt.refusal {
            return tooManyAttempts(visitor, refusal, now: now, what: "codes")
        }
        let format = configuration.userCode
        guard let canonical = format.normalize(typed) else {
            try rejectUserCode(request, attempt, reason: "malformed", now: now)
            return messagePage(400, visitor, title: "error_bad_request_title", heading: "error_failed_heading", text: "decision_code_invalid")
        }
        // The decision applies only to the flow this form was shown for (`flowBinding`).
        let sentBinding = Array((((try? form.single("flow")) ?? nil) ?? "").utf8)
        let shown: (String) -> Bool = { [self] id in constantTimeEquals(sentBinding, Array(flowBinding(flowID: id, for: visitor).utf8)) }
        let result = action == "approve"
            ? try service.approve(userCode: canonical, subject: subject, authTime: authTime, now: now, shown: shown)
            : try service.deny(userCode: canonical, now: now, shown: shown)
        switch result {
        case .success(let record):
            guardian.pass(attempt)
            logger.info(action == "approve" ? "flow approved" : "flow denied", metadata: [
                "client.id": "\(record.clientID)", "user": "\(subject)", "flow.id": "\(record.id.prefix(12))",
            ])
            audit(action == "approve" ? .flowApproved : .flowDenied, request, user: subject, clientID: record.clientID,
                  flowID: record.id, scope: "\(record.scope)", now: now, details: [("via", "web")])
            let approved = action == "approve", t = visitor.messages
            return page(200, "done", visitor, [
                "title": t.text(approved ? "done_approved_title" : "done_denied_title"), "approved": approved,
                "client_name": clientName(record),
                "lead": t.markup(approved ? "done_approved_lead" : "done_denied_lead", ["client": clientName(record)], emphasised: ["client"]),
            ])
        case .failure(let refusal):
            // Every refused decision counts, as on the entry form: an expired or decided code
            // tells a guesser as much as an unknown one, and so does a binding for another flow.
            let reasons: [DecisionRefusal: String] = [.unknownCode: "unknown", .expired: "expired", .otherFlow: "other flow"]
            try rejectUserCode(request, attempt, reason: reasons[refusal] ?? "decided", now: now)
            logger.notice("decision refused", metadata: ["reason": "\(refusal)", "user": "\(subject)"])
            switch refusal {
            case .unknownCode:
                return messagePage(404, visitor, title: "decision_unknown_title", heading: "decision_unknown_heading", text: "decision_unknown_text")
            case .expired:
                return messagePage(410, visitor, title: "decision_expired_title", heading: "decision_expired_heading", text: "decision_expired_text")
            case .alreadyApproved, .alreadyRedeemed:
                return messagePage(409, visitor, title: "decision_decided_title", heading: "decision_approved_heading", text: "decision_approved_text")
            case .alreadyDenied:
                return messagePage(409, visitor, title: "decision_decided_title", heading: "decision_denied_heading", text: "decision_denied_text")
            case .otherFlow:
                return messagePage(409, visitor, title: "decision_other_flow_title", heading: "decision_other_flow_heading",
                                   text: "decision_other_flow_text")
            }
        }
    }

    /// `POST /device/signout`.
    func signOut(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        if let id = visitor.sessionID {
            try store.deleteSession(idHash: Encoding.sha256Hex(id))
            logger.info("signed out", metadata: ["user": "\(visitor.subject ?? "")"])
        }
        return redirect(to: base, cookies: visitor.setCookies + [cookies.clearSession()])
    }
}
