import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import Logging
import Observability

/// The verification page, RFC 8628 §3.3: the person enters the user code, signs in, sees who
/// asks for what, and approves or denies.
///
/// Paths, under `endpoints.verification` (`/device` by default; `VerificationPaths`, routed by
/// `RoutingTable` as `VerificationRoute`s):
/// - `GET  /device[?code=…]`  code entry (prefilled from `verification_uri_complete`; a GET never
///                            decides anything)
/// - `POST /device`           submit the code → sign-in or consent page
/// - `POST /device/signin`    embedded sign-in → consent page
/// - `POST /device/decision`  `action=approve|deny` and the shown flow's binding → done page
/// - `POST /device/signout`   end the session
/// - `GET  /device/style.css` the stylesheet (CSP `style-src 'self'`)
///
/// Every POST carries a CSRF token bound to the session (or, before sign-in, to an anonymous
/// cookie); every failed user-code entry and sign-in is counted per client IP (and globally,
/// per username) across workers, RFC 8628 §5.1.
public final class VerificationPage: VerificationResponder {
    let configuration: DeviceGateConfiguration
    let settings: WebSettings
    let service: FlowService
    let store: any WebStateStorage
    let clock: any WallClock
    let random: any SecureRandom
    let templates: PageTemplates
    /// The languages of the pages; each visitor gets one (`Visitor.messages`).
    let localisation: Localisation
    let cookies: WebCookies
    let guardian: BruteForceGuard
    let hashLimiter: PasswordHashLimiter
    let decoys = DecoyHashes()
    /// The page's paths, as the routing table routes them.
    let path: VerificationPaths
    var base: String { path.enter }
    let stylesheet: [UInt8]
    let securityHeaders: [(String, String)]
    /// CSP `img-src`: 'self', and the logo's https origin when there is one.
    let imageSources: String
    /// Sign-ins, failed sign-ins, lockouts, rejected codes and decisions go to the audit log.
    let telemetry: Telemetry
    /// The `aud` of an ID token this issuer signed (signature and `iss` checked, expiry not),
    /// or nil for anything else: RP-initiated logout's `id_token_hint`. Injected by the
    /// assembly, since this layer does not see the signing keys; nil refuses every hint.
    let idTokenAudiences: ((String) -> [String]?)?

    public init(configuration: DeviceGateConfiguration, service: FlowService, store: any WebStateStorage, clock: any WallClock,
                templates: PageTemplates, localisation: Localisation = .builtIn, random: any SecureRandom = SystemSecureRandom(),
                telemetry: Telemetry = .disabled(), idTokenAudiences: ((String) -> [String]?)? = nil) {
        self.localisation = localisation
        self.configuration = configuration
        self.idTokenAudiences = idTokenAudiences
        self.telemetry = telemetry
        self.settings = configuration.web
        self.service = service
        self.store = store
        self.clock = clock
        self.random = random
        self.templates = templates
        self.cookies = WebCookies(settings: configuration.web)
        self.guardian = BruteForceGuard(store: store, limits: configuration.web.limits)
        self.hashLimiter = PasswordHashLimiter(store: store, settings: configuration.web)
        self.path = VerificationPaths(verification: configuration.endpoints.verification)
        let rgb = WebSettings.parseColor(configuration.web.accentColor) ?? (0x1D, 0x5F, 0xD1)
        let whiteText = WebSettings.contrast(rgb, (255, 255, 255)) >= WebSettings.contrast(rgb, (0, 0, 0))
        self.stylesheet = Array(templates.render("style.css", [
            "accent": configuration.web.accentColor, "accent_text": whiteText ? "#ffffff" : "#000000",
        ]).utf8)
        var imageSources = "'self'"
        if let logo = configuration.web.logoURL, logo.hasPrefix("https://") {
            let host = logo.dropFirst(8).prefix { $0 != "/" }
            imageSources += " https://\(host)"
        }
        self.imageSources = imageSources
        // No script at all: the page works without JavaScript, and CSP says so.
        self.securityHeaders = [
            ("Content-Security-Policy", Self.contentSecurityPolicy(imageSources: imageSources, formActionOrigin: nil)),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"),
        ]
    }

    /// The pages' CSP. `formActionOrigin` is the one other origin a form may lead to: the
    /// redirect URI's, on the pages of an authorization request, since Chromium applies
    /// `form-action` to the redirect that follows a form POST (CSP Level 3 §6.3.1.2).
    static func contentSecurityPolicy(imageSources: String, formActionOrigin: String?) -> String {
        let formAction = "'self'" + (formActionOrigin.map { " " + $0 } ?? "")
        return "default-src 'none'; style-src 'self'; img-src \(imageSources); form-action \(formAction); frame-ancestors 'none'; base-uri 'none'"
    }

    public func respond(to route: VerificationRoute, _ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        var logger = logger
        logger[metadataKey: "client.address"] = "\(request.remoteAddress)"
        do {
            return try answer(route, request, logger: logger)
        } catch {
            if error is FlowStorageError { telemetry.countStorageFailure() }
            logger.error("verification page failure", metadata: ["error": "\(error)"])
            var visitor = Visitor()
            chooseLanguage(request, &visitor)
            visitor.setCookies = []
            return messagePage(503, visitor, title: "error_unavailable_title", heading: "error_unavailable_heading",
                               text: "error_unavailable_text", extra: [("Retry-After", "30")])
        }
    }

    /// Each page by method: a GET never decides anything, a form target reloaded goes back to
    /// the start, any other method is 405 with `Allow`.
    private func answer(_ route: VerificationRoute, _ request: HTTPRequest, logger: Logger) throws -> HTTPResponse {
        let method = request.method == "HEAD" ? "GET" : request.method
        switch (route, method) {
        case (.enter, "GET"):
            return try enterPage(request)
        case (.enter, "POST"):
            return try post(request, logger: logger, submitCode)
        case (.signIn, "POST"):
            return try post(request, logger: logger, signIn)
        case (.decision, "POST"):
            return try post(request, logger: logger, decide)
        case (.signOut, "POST"):
            return try post(request, logger: logger, signOut)
        case (.stylesheet, "GET"):
            return HTTPResponse(status: 200, headers: [
                ("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "no-cache"),
                ("X-Content-Type-Options", "nosniff"),
            ], body: stylesheet)
        case (.signIn, "GET"), (.decision, "GET"), (.signOut, "GET"):
            // A reload or a bookmark of a form's target: back to the start, nothing decided.
            return redirect(to: base)
        case (.enter, _), (.signIn, _), (.decision, _), (.signOut, _), (.stylesheet, _):
            let visitor = try identify(request, now: clock.now())
            let allow = route == .enter ? "GET, HEAD, POST" : (route == .stylesheet ? "GET, HEAD" : "POST")
            return messagePage(405, visitor, title: "error_not_allowed_title", heading: "error_failed_heading",
                               text: "error_not_allowed_text", extra: [("Allow", allow)])
        case (.connected, _):
            return try answerDevices(method: method, request, logger: logger)
        case (.authorization, _), (.authorizationPage, _), (.endSession, _):
            return try answerAuthorization(route, method: method, request, logger: logger)
        case (.trailingSlash, "GET"):
            // "/device/" (a hand-typed URL): the page lives at "/device"; keep ?code=.
            return redirect(to: base + (request.query.isEmpty ? "" : "?" + request.query))
        case (.trailingSlash, _), (.other, _):
            let visitor = try identify(request, now: clock.now())
            return messagePage(404, visitor, title: "error_not_found_title", heading: "error_not_found_heading", text: "error_not_found_text")
        }
    }

    // MARK: Who is asking

    /// The browser in front of us: its session (if signed in), and the anonymous cookie that
    /// CSRF tokens bind to before sign-in.
    struct Visitor {
        var sessionID: String?
        var session: WebSession?
        /// The signed-in subject: the session's, or REMOTE_USER in delegated mode.
        var subject: String?
        var authTime: UnixTime?
        var anonymousID: String?
        var setCookies: [(String, String)] = []
        var csrfToken = ""
        /// The language the pages speak to this visitor (`Localisation.choose` of `language`).
        var messages: MessageCatalog = Localisation.builtIn.fallback
        var language = Localisation.Request()
        /// Where the switcher's links lead (`lang=` is added): this page when a GET can show
        /// it again, else the code entry (`chooseLanguage`).
        var languageSwitch = ""
        /// The language `ui_locales` chose on a device page, carried in its forms' actions.
        var carriedUILocale: String?
        /// Where the browser is (REMOTE_ADDR): the consent page compares it with the device's.
        var remoteAddress = ""
    }

    func identify(_ request: HTTPRequest, now: UnixTime) throws -> Visitor {
        var visitor = Visitor()
        switch settings.signIn {
        case .embedded:
            // REMOTE_USER is ignored: nginx fills $remote_user from any Basic header.
            if let id = WebCookies.value(cookies.sessionName, in: request.cookie) {
                let hash = Encoding.sha256Hex(id)
                if let session = try store.session(idHash: hash) {
                    if session.expiresAt > now {
                        visitor.sessionID = id
                        visitor.session = session
                        visitor.subject = session.subject
                        visitor.authTime = session.authTime
                    } else {
                        try store.deleteSession(idHash: hash)
                        visitor.setCookies.append(cookies.clearSession())
                    }
                }
            }
        case .delegated:
            if let user = request.remoteUser, Self.isAcceptableRemoteUser(user) {
                visitor.subject = user
                // nginx does not say when the person authenticated; this request is the latest
                // moment we know they had.
                visitor.authTime = now
            }
        }
        if let anonymous = WebCookies.value(cookies.csrfName, in: request.cookie) {
            visitor.anonymousID = anonymous
        } else {
            let fresh = WebCookies.newToken(random)
            visitor.anonymousID = fresh
            visitor.setCookies.append(cookies.setCSRF(fresh))
        }
        visitor.csrfToken = csrfToken(for: visitor)
        chooseLanguage(request, &visitor)
        visitor.remoteAddress = request.remoteAddress
        return visitor
    }

    static func isAcceptableRemoteUser(_ user: String) -> Bool {
        // `client:` is the namespace of client_credentials subjects (`machineSubject`).
        (1...255).contains(user.utf8.count) && user.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F } && !user.hasPrefix("client:")
    }

    /// HMAC-SHA-256 under the state directory's web secret of what the token is bound to: the
    /// session id when signed in, else the anonymous cookie.
    func csrfToken(for visitor: Visitor) -> String {
        let binding = visitor.sessionID.map { "session:" + $0 } ?? "anonymous:" + (visitor.anonymousID ?? "")
        return Encoding.hmacSHA256Hex(key: store.secretKey, "devicegate-csrf-v1|" + binding)
    }

    /// The consent form's `flow` field: HMAC-SHA-256 under the web secret of the flow id shown
    /// and of what the CSRF token binds to (the session, or the anonymous cookie and the
    /// delegated subject). A decision is applied only to the flow whose binding the form
    /// carries (issue 10, item 7), so a code that another flow drew after the shown one expired
    /// decides nothing.
    func flowBinding(flowID: String, for visitor: Visitor) -> String {
        let binding = visitor.sessionID.map { "session:" + $0 }
            ?? "anonymous:" + (visitor.anonymousID ?? "") + "|subject:" + (visitor.subject ?? "")
        return Encoding.hmacSHA256Hex(key: store.secretKey, "devicegate-flow-v1|" + flowID + "|" + binding)
    }

    // MARK: Pages

    /// A page in the visitor's language: `lang`, `dir`, the messages as `t`, and the language
    /// switcher's links (to `languageSwitch`, or to `switchTo` for the result of a POST).
    func page(_ status: Int, _ template: String, _ visitor: Visitor, _ values: [String: Any], extra: [(String, String)] = [],
              formActionOrigin: String? = nil, switchTo: String? = nil) -> HTTPResponse {
        var context: [String: Any] = [
            "product_name": settings.productName, "css_url": path.stylesheet, "csrf_token": visitor.csrfToken,
            "enter_url": carryingUILocale(base, visitor),
            "lang": visitor.messages.tag, "dir": visitor.messages.isRightToLeft ? "rtl" : "ltr", "t": visitor.messages.messages,
            "languages": languageLinks(to: switchTo ?? visitor.languageSwitch, current: visitor.messages),
        ]
        if let logo = settings.logoURL { context["logo_url"] = logo }
        if let subject = visitor.subject {
            context["signed_in_as"] = subject
            context["devices_url"] = path.connected
            if visitor.session != nil { context["signout_action"] = path.signOut }
        }
        for (key, value) in values { context[key] = value }
        if let action = context["action"] as? String { context["action"] = carryingUILocale(action, visitor) }
        let html = templates.render(template, context)
        var headers = securityHeaders
        if let formActionOrigin {
            let policy = Self.contentSecurityPolicy(imageSources: imageSources, formActionOrigin: formActionOrigin)
            headers = headers.map { $0.0 == "Content-Security-Policy" ? ($0.0, policy) : $0 }
        }
        return HTTPResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")] + headers + visitor.setCookies + extra,
                            body: Array(html.utf8))
    }

    func redirect(to location: String, cookies: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: 303, headers: [("Location", location), ("Content-Type", "text/plain; charset=utf-8")] + securityHeaders + cookies,
                     body: Array("See \(location)\n".utf8))
    }

    var placeholder: String { configuration.userCode.display(String(repeating: "X", count: configuration.userCode.length)) }

    func enterPage(_ request: HTTPRequest, visitor: Visitor? = nil, status: Int = 200, code: String = "", error: String? = nil,
                   extra: [(String, String)] = []) throws -> HTTPResponse {
        let visitor = try visitor ?? identify(request, now: clock.now())
        var prefill = code
        // `?code=` (verification_uri_complete, RFC 8628 §3.3.1) is anyone's link: it fills the
        // form only when it is a well-formed user code, else the form is empty.
        if request.method != "POST", let fields = try? FormDecoding.decode(Array(request.query.utf8)), let value = try? fields.single("code") {
            prefill = configuration.userCode.normalize(value) == nil ? "" : value
        }
        if let canonical = configuration.userCode.normalize(prefill) { prefill = configuration.userCode.display(canonical) }
        var values: [String: Any] = [
            "title": visitor.messages.text("enter_title"), "action": base, "user_code": String(prefill.prefix(40)), "placeholder": placeholder,
            // Digit codes get the phone's number pad.
            "inputmode": configuration.userCode.charset == .digits ? "numeric" : "text",
        ]
        if !prefill.isEmpty && error == nil { values["prefilled"] = true }
        if let error { values["error"] = error }
        return page(status, "enter", visitor, values, extra: extra)
    }

    /// The `message` page; `title`, `heading`, `text` and `detail` are message keys, `values`
    /// fill `text`'s placeholders.
    func messagePage(_ status: Int, _ visitor: Visitor, title: String, heading: String, text: String, values: [String: String] = [:],
                     detail: String? = nil, extra: [(String, String)] = []) -> HTTPResponse {
        let t = visitor.messages
        var context: [String: Any] = ["title": t.text(title), "heading": t.text(heading), "text": t.text(text, values)]
        if let detail { context["detail"] = t.text(detail) }
        return page(status, "message", visitor, context, extra: extra)
    }

    /// `what` is `codes` or `passwords`: the `limit_<what>_everyone|network` messages.
    func tooManyAttempts(_ visitor: Visitor, _ refusal: BruteForceGuard.Refusal, now: UnixTime, what: String) -> HTTPResponse {
        let seconds = max(1, Int((refusal.retryAt.milliseconds - now.milliseconds + 999) / 1000))
        let minutes = (seconds + 59) / 60
        let wait = minutes <= 1 ? visitor.messages.text("limit_wait_one_minute") : visitor.messages.text("limit_wait_minutes", ["minutes": "\(minutes)"])
        return messagePage(429, visitor, title: "limit_title", heading: "limit_title",
                           text: "limit_\(what)_\(refusal.global ? "everyone" : "network")", values: ["wait": wait],
                           detail: "limit_detail", extra: [("Retry-After", "\(seconds)")])
    }

    // MARK: POST plumbing

    func post(_ request: HTTPRequest, logger: Logger, _ body: (HTTPRequest, FormFields, Visitor, UnixTime, Logger) throws -> HTTPResponse) throws -> HTTPResponse {
        let now = clock.now()
        let visitor = try identify(request, now: now)
        guard !request.bodyExceededLimit else {
            return messagePage(413, visitor, title: "error_too_large_title", heading: "error_failed_heading", text: "error_too_large_text")
        }
        guard FormDecoding.isFormContentType(request.contentType), let form = try? FormDecoding.decode(request.body) else {
            return messagePage(400, visitor, title: "error_bad_request_title", heading: "error_failed_heading", text: "error_form_unreadable")
        }
        // CSRF: the token must be the HMAC of what this browser's cookies bind it to.
        let sent = (try? form.single("csrf_token")) ?? nil
        guard let sent, constantTimeEquals(Array(sent.utf8), Array(visitor.csrfToken.utf8)) else {
            logger.notice("csrf token refused", metadata: ["http.path": "\(request.path)"])
            return messagePage(403, visitor, title: "csrf_title", heading: "csrf_heading", text: "csrf_text", detail: "csrf_detail")
        }
        return try body(request, form, visitor, now, logger)
    }
}
