import DeviceFlow
import DeviceGateHTTP

/// The language of each page (`Localisation.choose`) and its switcher.
///
/// The switcher is a list of links, one per language, to the page the person is on with
/// `?lang=<tag>` added (other query parameters kept, a GET shows the page again); following one
/// sets the language cookie (`WebCookies.setLanguage`) and renders that page in the language.
/// A page that answers a POST cannot be shown again by a link, so its links lead to the code
/// entry, keeping the user code (`?code=`) when there is one; a web app's sign-in pages lead
/// to their own GET with the sealed request, re-sealed with the choice as its `ui_locales`.
/// A `lang` that names no language we have is ignored: never echoed, never stored.
extension VerificationPage {
    func chooseLanguage(_ request: HTTPRequest, _ visitor: inout Visitor) {
        let query = (try? FormDecoding.decode(Array(request.query.utf8))) ?? FormFields(pairs: [])
        var hints = Localisation.Request(cookie: WebCookies.language(cookies.languageName, in: request.cookie),
                                         acceptLanguage: request.acceptLanguage)
        // On the device pages `?ui_locales=` (what a device's link may carry, and what the forms
        // carry from step to step) ranks below the person's own cookie: RFC 8628 defines no such
        // parameter, and a link someone sends must not put the §5.4 warnings in a language the
        // person did not choose. The authorization request's `ui_locales` (OIDC Core §3.1.2.1),
        // read by its own pages, still comes first there.
        if hints.cookie.flatMap(localisation.language(named:)) == nil {
            hints.uiLocales = (try? query.single("ui_locales")) ?? nil
        }
        let isGET = request.method == "GET" || request.method == "HEAD"
        if isGET, let asked = (try? query.single("lang")) ?? nil, let tag = localisation.language(named: asked) {
            hints.chosen = tag
            visitor.setCookies.append(cookies.setLanguage(tag))
        }
        visitor.language = hints
        visitor.messages = localisation.choose(hints)
        visitor.carriedUILocale = hints.chosen == nil ? hints.uiLocales.flatMap(localisation.language(uiLocales:)) : nil
        // Pages a GET shows again: the same path and query, without the language's own hints;
        // the code entry keeps `?code=` only when it is a user code, as its form does.
        if isGET, request.path == path.enter, let code = ((try? query.single("code")) ?? nil).flatMap(configuration.userCode.normalize) {
            visitor.languageSwitch = enterLink(code: configuration.userCode.display(code))
        } else if isGET, [path.authorization, configuration.endpoints.endSession, path.connected].contains(request.path) {
            visitor.languageSwitch = Self.link(request.path, query.pairs.filter { $0.0 != "lang" && $0.0 != "ui_locales" })
        } else {
            visitor.languageSwitch = base
        }
    }

    /// The switcher's links from `target` (a path with or without a query). Every link has
    /// `aria-current`, "true" on the page's own language, so the list's items share one shape.
    func languageLinks(to target: String, current: MessageCatalog) -> [[String: Any]] {
        let joiner = target.contains("?") ? "&" : "?"
        return localisation.languages.map { language in
            ["tag": language.tag, "name": language.name, "dir": language.isRightToLeft ? "rtl" : "ltr",
             "url": target + joiner + "lang=" + language.tag, "current": language.tag == current.tag ? "true" : "false"]
        }
    }

    /// The code entry with `code` filled in: where the switcher of a POST's page leads.
    func enterLink(code: String) -> String { Self.link(base, [("code", code)]) }

    /// A device page's path with `?ui_locales=` when that chose the language of this request,
    /// so the next step (a form's POST, the link back) keeps it; other paths as they are.
    func carryingUILocale(_ target: String, _ visitor: Visitor) -> String {
        guard let tag = visitor.carriedUILocale, [base, path.signIn, path.decision].contains(target) else { return target }
        return Self.link(target, [("ui_locales", tag)])
    }

    /// The consent pages' scope list, each described in the visitor's language.
    func scopeList(_ scope: ScopeSet, _ visitor: Visitor) -> [[String: Any]] {
        scope.map {
            ["name": $0, "description": localisation.scopeDescription($0, in: visitor.messages, configured: settings.scopeDescriptions)]
        }
    }

    static func link(_ path: String, _ query: [(String, String)]) -> String {
        query.isEmpty ? path : path + "?" + query.map { AuthorizationResponse.formEncode($0.0) + "=" + AuthorizationResponse.formEncode($0.1) }
            .joined(separator: "&")
    }
}
