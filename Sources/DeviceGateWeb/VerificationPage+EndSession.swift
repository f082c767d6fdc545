import DeviceFlow
import DeviceGateHTTP
import Logging

/// OIDC RP-Initiated Logout 1.0 at `endpoints.end_session`.
///
/// §2: the RP sends `id_token_hint`, `client_id`, `post_logout_redirect_uri` and `state` by
/// GET or POST (form-serialised). The devicegate session ends (deleted, cookie cleared), and
/// the browser goes to `post_logout_redirect_uri` (with `state`, §3) only when that URI is
/// registered for the client named by `client_id` or by the hint's `aud`; otherwise it sees a
/// "You are signed out" page. A hint must be an ID token this issuer signed
/// (`idTokenAudiences`, verified by TokenSigning in the assembly; an expired one is fine, §2),
/// and must agree with `client_id` when both are sent (§2: "the OP MUST verify"); a hint that
/// fails either is refused with a page and the session is kept.
///
/// The spec allows a bare GET, so any site can end a devicegate session by linking here (§6
/// asks OPs to weigh this). What a forced sign-out costs is one more sign-in; no grant,
/// consent or token is touched, and no redirect goes anywhere unregistered.
extension VerificationPage {
    func endSession(_ request: HTTPRequest, method: String, logger: Logger) throws -> HTTPResponse {
        let now = clock.now()
        let visitor = try identify(request, now: now)
        /// `reason` is a message key (`signout_<why>`).
        func refuse(_ reason: String) -> HTTPResponse {
            logger.notice("end-session request refused", metadata: ["reason": "\(reason)"])
            return messagePage(400, visitor, title: "signout_refused_title", heading: "signout_refused_heading",
                               text: "signout_refused_text", values: ["reason": visitor.messages.text(reason)])
        }
        let fields: FormFields?
        if method == "POST" {
            fields = !request.bodyExceededLimit && FormDecoding.isFormContentType(request.contentType) ? try? FormDecoding.decode(request.body) : nil
        } else {
            fields = try? FormDecoding.decode(Array(request.query.utf8))
        }
        guard let fields else { return refuse("signout_unreadable") }
        let hint: String?, clientID: String?, returnURI: String?, state: String?
        do throws(OAuthError) {
            hint = try fields.single("id_token_hint")
            clientID = try fields.single("client_id")
            returnURI = try fields.single("post_logout_redirect_uri")
            state = try fields.single("state")
        } catch {
            return refuse("signout_repeated")
        }
        if let state, state.utf8.count > AuthorizationRequest.maximumParameterBytes { return refuse("signout_too_long") }
        var client = clientID.flatMap { service.clients[$0] }
        if let hint {
            guard let audiences = idTokenAudiences?(hint) else { return refuse("signout_foreign_token") }
            if let clientID {
                guard audiences.contains(clientID) else { return refuse("signout_two_applications") }
            } else if audiences.count == 1 {
                client = service.clients[audiences[0]]
            }
        }
        var cookies = visitor.setCookies
        if let id = visitor.sessionID {
            try store.deleteSession(idHash: Encoding.sha256Hex(id))
            logger.info("signed out by the application", metadata: ["user": "\(visitor.subject ?? "")", "client.id": "\(client?.clientID ?? "")"])
        }
        if visitor.session != nil || WebCookies.value(self.cookies.sessionName, in: request.cookie) != nil {
            cookies.append(self.cookies.clearSession())
        }
        if let returnURI, let client, client.matchesPostLogoutRedirectURI(returnURI) {
            let location = state.map { AuthorizationResponse.location(returnURI, [("state", $0)]) } ?? returnURI
            return redirect(to: location, cookies: cookies)
        }
        var signedOut = visitor
        signedOut.sessionID = nil
        signedOut.session = nil
        signedOut.subject = settings.signIn == .delegated ? visitor.subject : nil
        signedOut.setCookies = cookies
        signedOut.csrfToken = csrfToken(for: signedOut)
        let t = visitor.messages
        var text = t.text("signed_out_text", ["product": settings.productName])
        if returnURI != nil { text += " " + t.text("signed_out_not_sent") }
        if settings.signIn == .delegated { text += " " + t.text("signed_out_web_server") }
        return page(200, "signed_out", signedOut, ["title": t.text("signed_out_title"), "heading": t.text("signed_out_heading"), "text": text])
    }
}
