extension Localisation {
    /// Where the language of a request comes from, best first. Each is a hint that may name
    /// no language we have, and is then passed over.
    public struct Request: Sendable, Equatable {
        /// The switcher's `?lang=` on this very request: the person's explicit choice.
        public var chosen: String?
        /// `ui_locales` (OpenID Connect Core §3.1.2.1): space-separated tags, best first.
        public var uiLocales: String?
        /// The language cookie the switcher set.
        public var cookie: String?
        /// The `Accept-Language` header (RFC 9110 §12.5.4).
        public var acceptLanguage: String?

        public init(chosen: String? = nil, uiLocales: String? = nil, cookie: String? = nil, acceptLanguage: String? = nil) {
            self.chosen = chosen
            self.uiLocales = uiLocales
            self.cookie = cookie
            self.acceptLanguage = acceptLanguage
        }
    }

    /// The language for a request, in this order: the switcher's choice on this request, then
    /// `ui_locales` (OpenID Connect Core §3.1.2.1) where the request carries it, the language
    /// cookie the switcher set, `Accept-Language` (RFC 4647 §3.4 lookup), the default.
    public func choose(_ request: Request) -> MessageCatalog {
        let available = Set(catalogs.keys)
        let tag = request.chosen.flatMap(language(named:))
            ?? request.uiLocales.flatMap(language(uiLocales:))
            ?? request.cookie.flatMap(language(named:))
            ?? request.acceptLanguage.flatMap { LanguagePreference.lookup(LanguagePreference.ranges(acceptLanguage: $0), in: available) }
            ?? defaultLanguage
        return catalogs[tag] ?? fallback
    }

    /// The language `ui_locales` asks for (RFC 4647 §3.4 lookup), nil when it names none we have.
    public func language(uiLocales: String) -> String? {
        LanguagePreference.lookup(LanguagePreference.ranges(uiLocales: uiLocales), in: Set(catalogs.keys))
    }

    /// `choose` with the hints as separate arguments.
    public func choose(uiLocales: String?, cookie: String?, acceptLanguage: String?) -> MessageCatalog {
        choose(Request(uiLocales: uiLocales, cookie: cookie, acceptLanguage: acceptLanguage))
    }

    /// The tag of a language we have, exactly as named (case aside), or nil: what a switcher
    /// link or the cookie may carry. Anything else is ignored, never echoed or stored.
    public func language(named text: String) -> String? {
        guard text.utf8.count <= 35 else { return nil }
        let tag = text.lowercased()
        return catalogs[tag] == nil ? nil : tag
    }

    /// Every language, for the switcher: by tag, English first.
    public var languages: [MessageCatalog] {
        catalogs.values.sorted { ($0.tag == "en" ? "" : $0.tag) < ($1.tag == "en" ? "" : $1.tag) }
    }

    /// What `scope` allows, in plain words, in `catalog`'s language. The first that exists:
    /// an operator's `scope_<name>` in that language's file in `templates_dir`, then
    /// `web.scope_descriptions` (`configured`, one language), the built-in `scope_<name>` of
    /// that language, then English's, then `scope_generic` naming the scope.
    public func scopeDescription(_ scope: String, in catalog: MessageCatalog, configured: [String: String]) -> String {
        let key = "scope_" + scope
        if catalog.overridden.contains(key), let own = catalog.messages[key] { return own }
        if let text = configured[scope] { return text }
        let english = catalogs["en"]
        if let text = catalog.messages[key] ?? english?.messages[key] { return text }
        let generic = catalog.messages["scope_generic"] == nil ? (english ?? catalog) : catalog
        return generic.text("scope_generic", ["scope": scope])
    }
}
