import DeviceFlow
import DeviceGateHTTP
import Logging
import Observability

/// A web app's sign-in: the authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) and
/// its sign-in and consent page (issue 13).
///
/// - `GET|POST endpoints.authorization` validates the request (`AuthorizationRequestValidation`):
///   a bad client or redirect URI gets a page and never a redirect (RFC 6749 §4.1.2.1); any
///   other error goes back to the client with `state` and `iss` (RFC 9207). `prompt=none`
///   answers at once (OIDC Core §3.1.2.6: `login_required`, `consent_required`); otherwise
///   the browser goes on to `{verification}/authorize?request=SEALED`
///   (`SealedAuthorizationRequest`).
/// - `GET {verification}/authorize` shows sign-in (when there is no session, or the session's
///   sign-in is too old for `max_age` or `prompt=login`) or consent; a client that skips
///   consent gets its code at once, since nothing is decided that was not allowed already.
/// - `POST {verification}/authorize` (CSRF token, the sealed request) signs in through the
///   same code as `/device/signin`, or applies Approve/Deny.
///
/// Every redirect Location is built by `AuthorizationResponse` from a redirect URI that
/// `matchesRedirectURI` accepted; the pages of a request allow exactly that URI's origin in
/// CSP `form-action`, which Chromium applies to the redirect after a form POST.
extension VerificationPage {
    func answerAuthorization(_ route: VerificationRoute, method: String, _ request: HTTPRequest, logger: Logger) throws -> HTTPResponse {
        switch (route, method) {
        case (.authorization, "GET"):
            return try authorizationEndpoint(request, fields: try? FormDecoding.decode(Array(request.query.utf8)), logger: logger)
        case (.authorization, "POST"):
            // OIDC Core §3.1.2.1: POST is form-serialised.
            let fields = !request.bodyExceededLimit && FormDecoding.isFormContentType(request.contentType)
                ? try? FormDecoding.decode(request.body) : nil
            return try authorizationEndpoint(request, fields: fields, logger: logger)
        case (.authorizationPage, "GET"):
            return try showAuthorization(request, logger: logger)
        case (.authorizationPage, "POST"):
            return try post(request, logger: logger, decideAuthorization)
        case (.endSession, "GET"), (.endSession, "POST"):
            return try endSession(request, method: method, logger: logger)
        default:
            let visitor = try identify(request, now: clock.now())
            return messagePage(405, visitor, title: "error_not_allowed_title", heading: "error_failed_heading", text: "error_not_allowed_text",
                               extra: [("Allow", "GET, HEAD, POST")])
        }
    }

    // MARK: The authorization endpoint

    /// The longest `{verification}/authorize?request=…` sent: under nginx's default 8 KiB
    /// request line, with room for the method, the protocol and a long verification path.
    static let maximumSealedLocationBytes = 7_168

    func authorizationEndpoint(_ request: HTTPRequest, fields: FormFields?, logger: Logger) throws -> HTTPResponse {
        let now = clock.now()
        var visitor = try identify(request, now: now)
        guard let fields else { return refusedRequestPage(visitor, text: "authorize_unreadable") }
        // OIDC Core §3.1.2.1 ui_locales, by GET or POST: it speaks for this page and the next ones.
        let uiLocales = ((try? fields.single("ui_locales")) ?? nil).map { LanguagePreference.ranges(uiLocales: $0).joined(separator: " ") }
            .flatMap { $0.isEmpty ? nil : $0 }
        if visitor.language.chosen == nil, let uiLocales {
            visitor.language.uiLocales = uiLocales
            visitor.messages = localisation.choose(visitor.language)
        }
        switch AuthorizationRequestValidation.validate({ name throws(OAuthError) in try fields.single(name) }, clients: service.clients) {
        case .pageError(let error):
            logger.notice("authorization request refused", metadata: ["reason": "\(error.reason)"])
            return refusedRequestPage(visitor, text: "authorize_\(error.reason)", values: error.clientName.map { ["client": $0] } ?? [:])
        case .redirectError(let error, let redirectURI, let state):
            logger.info("authorization request error", metadata: ["error": "\(error.code)"])
            // The mode the client asked for, when it is one we speak; else the query.
            let mode = ((try? fields.single("response_mode")) ?? nil).flatMap(AuthorizationRequest.ResponseMode.init(rawValue:)) ?? .query
            return sendBack(to: redirectURI, mode: mode, AuthorizationResponse.errorParameters(error, state: state, issuer: configuration.issuer),
                            cookies: visitor.setCookies, in: visitor.messages)
        case .valid(let authorization):
            guard let client = service.clients[authorization.clientID] else { return refusedRequestPage(visitor, text: "authorize_unknown_application") }
            func fail(_ error: OAuthError) -> HTTPResponse {
                sendBack(authorization, AuthorizationResponse.errorParameters(error, state: authorization.state, issuer: configuration.issuer),
                         cookies: visitor.setCookies, in: visitor.messages)
            }
            // OIDC Core §3.1.2.1: an OP that cannot re-authenticate "MUST return an error,
            // typically login_required". Delegated sign-in is the web server's, which
            // devicegate cannot make repeat, and whose time it does not know.
            if settings.signIn == .delegated && authorization.asksForReauthentication {
                return fail(OAuthError(code: "login_required", detail: "this provider's sign-in is done by its web server and cannot be repeated on request (prompt=login, select_account or max_age)"))
            }
            if authorization.prompt.contains(.none) {
                return try answerWithoutPage(authorization, client: client, visitor: visitor, request: request, now: now, logger: logger)
            }
            let sealed = SealedAuthorizationRequest(request: authorization, requestedAt: now, uiLocales: uiLocales)
            let location = path.authorization + "?request=" + sealed.seal(key: store.secretKey)
            // nginx refuses a request line over 8 KiB (large_client_header_buffers) with a page
            // of its own: a request whose sealed form would not fit is the client's error.
            guard location.utf8.count <= Self.maximumSealedLocationBytes else {
                return fail(.invalidRequest("the authorization request is too large (state, nonce and login_hint together)"))
            }
            return redirect(to: location, cookies: visitor.setCookies)
        }
    }

    /// OIDC Core §3.1.2.1 `prompt=none`: a code when the session is acceptable and nothing
    /// needs the person's consent, else `login_required` or `consent_required` at the client.
    /// REMOTE_USER only arrives under the verification path, so delegated sign-in never has a
    /// session here.
    func answerWithoutPage(_ authorization: AuthorizationRequest, client: ClientRegistration, visitor: Visitor, request: HTTPRequest,
                           now: UnixTime, logger: Logger) throws -> HTTPResponse {
        func fail(_ code: String, _ detail: String) -> HTTPResponse {
            sendBack(authorization, AuthorizationResponse.errorParameters(OAuthError(code: code, detail: detail), state: authorization.state,
                                                                          issuer: configuration.issuer), cookies: visitor.setCookies, in: visitor.messages)
        }
        guard settings.signIn == .embedded, visitor.session != nil, let subject = visitor.subject, let authTime = visitor.authTime,
              authorization.acceptsSignIn(at: authTime, requestedAt: now) else {
            return fail("login_required", "the user is not signed in (prompt=none)")
        }
        guard client.approvesWithoutConsent else { return fail("consent_required", "the user has not consented to this client (prompt=none)") }
        return try issueCode(authorization, subject: subject, authTime: authTime, visitor: visitor, request: request, now: now,
                             logger: logger, consent: "skipped")
    }

    // MARK: The sign-in and consent page

    func showAuthorization(_ request: HTTPRequest, logger: Logger) throws -> HTTPResponse {
        let now = clock.now()
        var visitor = try identify(request, now: now)
        let fields = try? FormDecoding.decode(Array(request.query.utf8))
        let text = fields.flatMap { (try? $0.single("request")) ?? nil } ?? ""
        switch openSealed(text, visitor: visitor, now: now, logger: logger) {
        case .failure(let refusal): return refusal.page
        case .success(let (opened, client)):
            var sealed = opened, sealedText = text
            // The switcher's choice replaces the request's ui_locales for the pages after this one.
            if let chosen = visitor.language.chosen {
                sealed.uiLocales = chosen
                sealedText = sealed.seal(key: store.secretKey)
            }
            speak(sealed, to: &visitor)
            return try continueAuthorization(sealed, sealedText: sealedText, client: client, visitor: visitor, request: request, now: now, logger: logger)
        }
    }

    /// `POST {verification}/authorize`: a sign-in (`username`, `password`) or a decision
    /// (`action=approve|deny`), each with the sealed request and the CSRF token (checked by
    /// `post` before this runs).
    func decideAuthorization(_ request: HTTPRequest, _ form: FormFields, _ visitor: Visitor, _ now: UnixTime, _ logger: Logger) throws -> HTTPResponse {
        let text = ((try? form.single("request")) ?? nil) ?? ""
        let (sealed, client): (SealedAuthorizationRequest, ClientRegistration)
        switch openSealed(text, visitor: visitor, now: now, logger: logger) {
        case .failure(let refusal): return refusal.page
        case .success(let opened): (sealed, client) = opened
        }
        var visitor = visitor
        speak(sealed, to: &visitor)
        let authorization = sealed.request
        if form.has("username") {
            guard settings.signIn == .embedded else { return notSignedInDelegated(visitor) }
            let outcome = try checkPassword(request, form, visitor, now, logger) { username in
                authorizationSignInPage(403, sealedText: text, authorization: authorization, client: client, visitor: visitor,
                                        username: username, error: visitor.messages.text("signin_wrong"))
            }
            switch outcome {
            case .refused(let response): return response
            case .signedIn(let signedIn):
                return try continueAuthorization(sealed, sealedText: text, client: client, visitor: signedIn, request: request, now: now, logger: logger)
            }
        }
        let action = (try? form.single("action")) ?? nil
        guard action == "approve" || action == "deny" else {
            return messagePage(400, visitor, title: "error_bad_request_title", heading: "error_failed_heading", text: "decision_choose")
        }
        // A decision needs a sign-in this request accepts; without one, the sign-in page.
        guard let subject = visitor.subject, let authTime = visitor.authTime,
              authorization.acceptsSignIn(at: authTime, requestedAt: sealed.requestedAt) else {
            return try continueAuthorization(sealed, sealedText: text, client: client, visitor: visitor, request: request, now: now, logger: logger)
        }
        guard action == "approve" else {
            logger.info("authorization denied", metadata: ["client.id": "\(client.clientID)", "user": "\(subject)"])
            audit(.flowDenied, request, user: subject, clientID: client.clientID, scope: "\(authorization.scope)", now: now,
                  details: [("via", "authorization_code")])
            return sendBack(authorization, AuthorizationResponse.errorParameters(.accessDenied, state: authorization.state, issuer: configuration.issuer),
                            cookies: visitor.setCookies, in: visitor.messages)
        }
        return try issueCode(authorization, subject: subject, authTime: authTime, visitor: visitor, request: request, now: now,
                             logger: logger, consent: "given")
    }

    /// The next step for a request with a valid seal: sign-in, consent, or the code.
    func continueAuthorization(_ sealed: SealedAuthorizationRequest, sealedText: String, client: ClientRegistration, visitor: Visitor,
                               request: HTTPRequest, now: UnixTime, logger: Logger) throws -> HTTPResponse {
        let authorization = sealed.request
        guard let subject = visitor.subject, let authTime = visitor.authTime,
              authorization.acceptsSignIn(at: authTime, requestedAt: sealed.requestedAt) else {
            if settings.signIn == .delegated { return notSignedInDelegated(visitor) }
            return authorizationSignInPage(200, sealedText: sealedText, authorization: authorization, client: client, visitor: visitor,
                                           username: String((authorization.loginHint ?? visitor.subject ?? "").prefix(64)))
        }
        if client.approvesWithoutConsent && !authorization.prompt.contains(.consent) {
            return try issueCode(authorization, subject: subject, authTime: authTime, visitor: visitor, request: request, now: now,
                                 logger: logger, consent: "skipped")
        }
        let origin = RedirectOrigin(authorization.redirectURI), t = visitor.messages, name = client.displayName
        let warningStrong = t.text("authorize_warning_strong", ["client": name])
        return page(200, "authorize_consent", visitor, [
            "title": t.text("consent_title"), "client_name": name, "scopes": scopeList(authorization.scope, visitor),
            "return_host": origin.shown, "action": path.authorization, "authorization_request": sealedText,
            "lead": t.markup("authorize_consent_lead", ["client": name], emphasised: ["client"]),
            "return_note": t.markup("authorize_consent_return", ["return_host": origin.shown], emphasised: ["return_host"]),
            "warning": t.markup("authorize_warning", ["warning_strong": warningStrong, "return_host": origin.shown], emphasised: ["warning_strong"]),
            "signed_in_note": t.markup("consent_signed_in_as", ["user": subject, "client": name], emphasised: ["user"]),
        ], formActionOrigin: origin.cspSource, switchTo: Self.link(path.authorization, [("request", sealedText)]))
    }

    func authorizationSignInPage(_ status: Int, sealedText: String, authorization: AuthorizationRequest, client: ClientRegistration,
                                 visitor: Visitor, username: String, error: String? = nil) -> HTTPResponse {
        var values: [String: Any] = [
            "title": visitor.messages.text("signin_title"), "action": path.authorization, "username": username,
            "client_name": client.displayName, "authorization_request": sealedText,
            "lead": visitor.messages.markup("authorize_signin_lead", ["client": client.displayName], emphasised: ["client"]),
        ]
        if let error { values["error"] = error }
        return page(status, "authorize_signin", visitor, values, formActionOrigin: RedirectOrigin(authorization.redirectURI).cspSource,
                    switchTo: Self.link(path.authorization, [("request", sealedText)]))
    }

    /// Draws the code (RFC 6749 §4.1.2) and sends the browser back with it, `state` and `iss`.
    func issueCode(_ authorization: AuthorizationRequest, subject: String, authTime: UnixTime, visitor: Visitor, request: HTTPRequest,
                   now: UnixTime, logger: Logger, consent: String) throws -> HTTPResponse {
        let code = try service.issueAuthorizationCode(for: authorization, subject: subject, authTime: authTime, now: now)
        let codeID = Encoding.sha256Hex(code)
        logger.info("authorization approved", metadata: [
            "client.id": "\(authorization.clientID)", "user": "\(subject)", "code.id": "\(codeID.prefix(12))",
        ])
        audit(.flowApproved, request, user: subject, clientID: authorization.clientID, flowID: codeID, scope: "\(authorization.scope)",
              now: now, details: [("via", "authorization_code"), ("consent", consent)])
        return sendBack(authorization, AuthorizationResponse.successParameters(code: code, state: authorization.state, issuer: configuration.issuer),
                        cookies: visitor.setCookies, in: visitor.messages)
    }

    /// The sealed request and its client, or the page saying the link cannot be used. The
    /// client and redirect URI are checked again: the configuration may have changed since.
    func openSealed(_ text: String, visitor: Visitor, now: UnixTime, logger: Logger)
        -> Result<(SealedAuthorizationRequest, ClientRegistration), PageRefusal> {
        switch SealedAuthorizationRequest.open(text, key: store.secretKey, now: now) {
        case .failure(let refusal):
            logger.notice("sealed authorization request refused", metadata: ["reason": "\(refusal)"])
            let expired = refusal == .expired
            return .failure(PageRefusal(page: refusedRequestPage(visitor, text: expired ? "authorize_expired" : "authorize_invalid_link")))
        case .success(let sealed):
            guard let client = service.clients[sealed.request.clientID], client.allows(.authorizationCode),
                  client.matchesRedirectURI(sealed.request.redirectURI) else {
                return .failure(PageRefusal(page: refusedRequestPage(visitor, text: "authorize_no_longer_registered")))
            }
            return .success((sealed, client))
        }
    }

    struct PageRefusal: Error { var page: HTTPResponse }

    func sendBack(_ authorization: AuthorizationRequest, _ parameters: [(String, String)], cookies: [(String, String)],
                  in language: MessageCatalog) -> HTTPResponse {
        sendBack(to: authorization.redirectURI, mode: authorization.responseMode, parameters, cookies: cookies, in: language)
    }

    /// The response to the client at its (registered) redirect URI: a 303 with the parameters
    /// in the query, or for `response_mode=form_post` (OAuth 2.0 Form Post Response Mode §2)
    /// a page whose form POSTs them there, submitted by its one script (allowed by its hash)
    /// or by the person's click when scripts are off. A redirect URI whose origin a CSP cannot
    /// name (`RedirectOrigin`) cannot take a form: it gets the query.
    func sendBack(to redirectURI: String, mode: AuthorizationRequest.ResponseMode, _ parameters: [(String, String)],
                  cookies: [(String, String)], in language: MessageCatalog) -> HTTPResponse {
        guard mode == .formPost, let origin = RedirectOrigin(redirectURI).cspSource else {
            return redirect(to: AuthorizationResponse.location(redirectURI, parameters), cookies: cookies)
        }
        let dir = language.isRightToLeft ? "rtl" : "ltr", t = { HTMLEscaping.escape(language.text($0)) }
        var html = "<!DOCTYPE html>\n<html lang=\"\(language.tag)\" dir=\"\(dir)\"><head><meta charset=\"utf-8\"><title>\(t("form_post_title"))</title></head>\n<body>\n"
        html += "<form method=\"post\" action=\"\(HTMLEscaping.escape(redirectURI))\">\n"
        for (name, value) in parameters {
            html += "<input type=\"hidden\" name=\"\(HTMLEscaping.escape(name))\" value=\"\(HTMLEscaping.escape(value))\">\n"
        }
        html += "<noscript><p>\(t("form_post_hint"))</p></noscript>\n<button type=\"submit\">\(t("form_post_continue"))</button>\n</form>\n"
        html += "<script>\(FormPostResponse.script)</script>\n</body></html>\n"
        let policy = "default-src 'none'; script-src '\(FormPostResponse.scriptHash)'; form-action \(origin); frame-ancestors 'none'; base-uri 'none'"
        let headers = securityHeaders.map { $0.0 == "Content-Security-Policy" ? ($0.0, policy) : $0 }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")] + headers + cookies, body: Array(html.utf8))
    }

    /// `text` is a message key, `values` its placeholders'.
    func refusedRequestPage(_ visitor: Visitor, text: String, values: [String: String] = [:]) -> HTTPResponse {
        messagePage(400, visitor, title: "authorize_refused_title", heading: "authorize_refused_heading", text: text, values: values)
    }

    /// The sealed request's `ui_locales`, unless the person chose a language on this request.
    func speak(_ sealed: SealedAuthorizationRequest, to visitor: inout Visitor) {
        guard visitor.language.chosen == nil, let uiLocales = sealed.uiLocales else { return }
        visitor.language.uiLocales = uiLocales
        visitor.messages = localisation.choose(visitor.language)
    }
}

/// The origin a redirect URI leads to, for CSP `form-action` and for the consent page's
/// "you will be sent to". http(s) URIs give `scheme://host[:port]` (CSP Level 3 §2.3.1
/// host-source); a private-use scheme (RFC 8252 §7.1) gives its scheme-source `scheme:`, the
/// narrowest a CSP can name. A URI with anything else in its authority (userinfo, brackets,
/// spaces, `;`, `,`) adds nothing to the CSP: a CSP can be widened only by what it can parse.
package struct RedirectOrigin: Equatable {
    package var cspSource: String?
    package var shown: String

    package init(_ uri: String) {
        shown = uri
        cspSource = nil
        guard let colon = uri.firstIndex(of: ":") else { return }
        let scheme = String(uri[..<colon]).lowercased()
        guard let first = scheme.utf8.first, (0x61...0x7A).contains(first),
              scheme.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
        else { return }
        let rest = uri[uri.index(after: colon)...]
        guard scheme == "http" || scheme == "https" else {
            cspSource = scheme + ":"
            shown = scheme + ":"
            return
        }
        guard rest.hasPrefix("//") else { return }
        let authority = rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        shown = String(authority)
        guard !authority.isEmpty else { return }
        if authority.hasPrefix("[") {
            // An IPv6 literal (RFC 3986 §3.2.2), such as RFC 8252 §7.3's `[::1]`, then `:port`.
            guard let close = authority.firstIndex(of: "]") else { return }
            let literal = authority[authority.index(after: authority.startIndex)..<close]
            let port = authority[authority.index(after: close)...]
            guard !literal.isEmpty, literal.utf8.allSatisfy({ b in (0x30...0x39).contains(b) || (0x61...0x66).contains(b) || (0x41...0x46).contains(b) || b == 0x3A || b == 0x2E }),
                  port.isEmpty || (port.first == ":" && port.count > 1 && port.dropFirst().utf8.allSatisfy { (0x30...0x39).contains($0) }) else { return }
        } else {
            guard authority.utf8.allSatisfy({ b in
                (0x61...0x7A).contains(b) || (0x41...0x5A).contains(b) || (0x30...0x39).contains(b) || b == 0x2D || b == 0x2E || b == 0x3A
            }) else { return }
        }
        cspSource = scheme + "://" + authority.lowercased()
    }
}
