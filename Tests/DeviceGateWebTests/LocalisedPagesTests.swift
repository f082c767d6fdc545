#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@testable import DeviceGateWeb
import Testing

/// The pages in the visitor's language, through the assembled app on the memory backend:
/// every built-in language on every page, how the language is chosen (switcher, `ui_locales`,
/// `Accept-Language`), and messages that cannot add markup.
@Suite struct LocalisedPagesTests {
    static let english = Localisation.builtIn.catalogs["en"]!

    /// The app with an operator's `<templates_dir>` holding `files` (name → text), and the
    /// web app client of `AuthorizationPageTests`.
    static func fixture(_ files: [String: String] = [:], _ adjust: @escaping (inout DeviceGateConfiguration) -> Void = { _ in }) throws -> WebFixture {
        try AuthorizationPageTests.fixture { config in
            let dir = config.stateDirectory + "-templates"
            mkdir(dir, 0o700)
            for (name, text) in files { try? writeFile("\(dir)/\(name)", text) }
            config.web.templatesDirectory = dir
            config.clients[0].allowedScopes = ScopeSet(["openid", "profile", "email", "offline_access", "groups", "write:all"])
            adjust(&config)
        }
    }

    /// Brazilian Portuguese added by the operator: English's messages with its own name and title.
    static let portuguese = ["pt-BR.messages": LocalisationFilesTests.english([
        "language_name": "Português (Brasil)", "enter_title": "Conectar um dispositivo",
    ])]

    static func language(of page: HTTPResponse) -> String? {
        guard let start = page.bodyText.range(of: "<html lang=\"") else { return nil }
        return String(page.bodyText[start.upperBound...].prefix { $0 != "\"" })
    }

    static func languageCookies(_ page: HTTPResponse) -> [String] {
        page.headers.filter { $0.0 == "Set-Cookie" && $0.1.hasPrefix("__Host-devicegate_lang=") }.map(\.1)
    }

    // MARK: Every language, every page

    /// Every page a person can meet, in the language the switcher chose.
    static func walk(_ f: WebFixture, language tag: String) throws -> [(name: String, page: HTTPResponse)] {
        var pages: [(name: String, page: HTTPResponse)] = []
        let b = Browser(f)
        pages.append(("enter", b.get("/device", query: "lang=\(tag)")))
        pages.append(("enter, no code", b.enter("")))
        pages.append(("enter, malformed code", b.enter("12")))
        let (_, user) = try f.startFlow(scope: "openid profile email offline_access groups")
        pages.append(("sign-in", b.enter(user)))
        pages.append(("sign-in, wrong password", b.signIn("alice", "not it", code: user)))
        pages.append(("consent", b.signIn(code: user)))
        pages.append(("done, approved", b.decide("approve", code: user)))
        pages.append(("enter, code used", b.enter(user)))
        pages.append(("decision, already decided", b.decide("approve", code: user)))
        let (_, second) = try f.startFlow(scope: "openid write:all")
        pages.append(("consent, signed in", b.enter(second)))
        pages.append(("done, denied", b.decide("deny", code: second)))
        pages.append(("decision, no action", b.post("/device/decision", [("user_code", second)])))
        pages.append(("not found", b.get("/device/nowhere")))
        pages.append(("not allowed", b.send("PUT", "/device")))
        pages.append(("expired form", b.post("/device", [("user_code", user)], csrf: "forged")))
        // A web app's sign-in, consent, form_post answer and refusal; RP-initiated logout.
        let app = Browser(f)
        app.get("/device", query: "lang=\(tag)")
        app.get(AuthorizationPageTests.authorize, query: AuthorizationPageTests.query())
        pages.append(("authorize sign-in", try #require(app.last)))
        pages.append(("authorize consent", try AuthorizationPageTests.signIn(app)))
        app.get(AuthorizationPageTests.authorize, query: AuthorizationPageTests.query(extra: [("response_mode", "form_post")]))
        pages.append(("form_post", try AuthorizationPageTests.decide(app, "approve")))
        pages.append(("authorize refused", app.get(AuthorizationPageTests.authorize, query: "client_id=nobody")))
        pages.append(("authorize unregistered", app.get(AuthorizationPageTests.authorize, query: AuthorizationPageTests.query(redirect: "https://evil.example/cb"))))
        pages.append(("sign-out refused", app.get(AuthorizationPageTests.endSession, query: "id_token_hint=forged")))
        pages.append(("signed out", app.get(AuthorizationPageTests.endSession, query: "post_logout_redirect_uri=https://elsewhere.example/")))
        return pages
    }

    /// A `{name}` left unfilled, if any.
    static func placeholder(in html: String) -> String? {
        var rest = html[...]
        while let open = rest.firstIndex(of: "{") {
            let name = rest[rest.index(after: open)...].prefix { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
            let after = rest.index(open, offsetBy: name.count + 1)
            if !name.isEmpty, after < rest.endIndex, rest[after] == "}" { return String(rest[open...after]) }
            rest = rest[rest.index(after: open)...]
        }
        return nil
    }

    static func expectLocalised(_ name: String, _ page: HTTPResponse, in catalog: MessageCatalog) {
        let html = page.bodyText
        #expect(page.status < 500, "\(catalog.tag) \(name): \(page.status)")
        #expect(html.contains("<html lang=\"\(catalog.tag)\" dir=\"\(catalog.isRightToLeft ? "rtl" : "ltr")\">"), "\(catalog.tag) \(name): \(html.prefix(200))")
        for key in english.messages.keys where html.contains(key) { Issue.record("\(catalog.tag) \(name) shows the key \(key)") }
        if let left = placeholder(in: html) { Issue.record("\(catalog.tag) \(name) shows \(left)") }
        let ownText = HTMLEscaping.escape(catalog.text(name == "form_post" ? "form_post_continue" : "footer_tagline"))
        #expect(html.contains(ownText), "\(catalog.tag) \(name) lacks its own text \(ownText)")
    }

    @Test(arguments: BuiltInMessages.all.map(\.tag))
    func everyBuiltInLanguageRendersEveryPage(_ tag: String) throws {
        let f = try Self.fixture()
        let catalog = try #require(Localisation.builtIn.catalogs[tag])
        let pages = try Self.walk(f, language: tag)
        #expect(pages.count == 22)
        for (name, page) in pages { Self.expectLocalised(name, page, in: catalog) }
        if tag == "ar" { #expect(catalog.isRightToLeft) }
        // The limits' pages, with a limit of one wrong code per address.
        let limited = try Self.fixture { $0.web.limits.userCodePerIP.maximum = 1 }
        let b = Browser(limited)
        b.get("/device", query: "lang=\(tag)")
        b.enter("BBBB-BBBB")
        let refused = b.enter("CCCC-CCCC")
        #expect(refused.status == 429)
        Self.expectLocalised("too many attempts", refused, in: catalog)
    }

    /// The walk sees the operator's languages too, and a missing message would show.
    @Test func anAddedLanguageRendersEveryPage() throws {
        let f = try Self.fixture(Self.portuguese)
        let catalog = try #require(try Localisation(directory: f.config.web.templatesDirectory).catalogs["pt-br"])
        let pages = try Self.walk(f, language: "pt-br")
        for (name, page) in pages { Self.expectLocalised(name, page, in: catalog) }
        #expect(pages[0].page.bodyText.contains("<h1>Conectar um dispositivo</h1>"))
    }

    // MARK: Choosing the language

    @Test func acceptLanguageDeGivesGerman() throws {
        let f = try Self.fixture()
        let german = try #require(Localisation.builtIn.catalogs["de"])
        let b = Browser(f)
        b.acceptLanguage = "de-DE,de;q=0.9,en;q=0.8"
        let page = b.get()
        #expect(Self.language(of: page) == "de")
        #expect(page.bodyText.contains("<h1>\(HTMLEscaping.escape(german.text("enter_title")))</h1>"))
        #expect(german.text("enter_title") != Self.english.text("enter_title"))
    }

    @Test func acceptLanguageChoosesAmongTheLanguages() throws {
        let f = try Self.fixture(Self.portuguese)
        let b = Browser(f)
        b.acceptLanguage = "sv-SE, pt-BR;q=0.8, en;q=0.5"
        let page = b.get()
        #expect(Self.language(of: page) == "pt-br")
        #expect(page.bodyText.contains("<h1>Conectar um dispositivo</h1>"))
        #expect(Self.languageCookies(page).isEmpty)
        b.acceptLanguage = "tlh, *"
        #expect(Self.language(of: b.get()) == "en")
    }

    @Test func theSwitchersCookieBeatsAcceptLanguage() throws {
        let f = try Self.fixture(Self.portuguese)
        let b = Browser(f)
        b.acceptLanguage = "pt-BR"
        #expect(Self.language(of: b.get()) == "pt-br")
        let switched = b.get("/device", query: "lang=en")
        #expect(Self.language(of: switched) == "en")
        #expect(Self.languageCookies(switched) == ["__Host-devicegate_lang=en; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=31536000"])
        let later = b.get()
        #expect(Self.language(of: later) == "en")
        #expect(Self.languageCookies(later).isEmpty)
        // The form after it speaks the same language.
        #expect(Self.language(of: b.enter("")) == "en")
    }

    /// A device page's `?ui_locales=` speaks for the pages of a person who chose no language;
    /// the switcher's cookie, once set, beats it (a sent link cannot override the person's choice).
    @Test func uiLocalesSpeaksThroughTheDevicePagesUnlessTheCookieSaysOtherwise() throws {
        let f = try Self.fixture(Self.portuguese)
        let (_, user) = try f.startFlow()
        let chose = Browser(f)
        chose.get("/device", query: "lang=en")
        #expect(Self.language(of: chose.get("/device", query: "code=\(user)&ui_locales=pt-BR%20en")) == "en")
        let b = Browser(f)
        let entry = b.get("/device", query: "code=\(user)&ui_locales=pt-BR%20en")
        #expect(Self.language(of: entry) == "pt-br")
        // Its form carries the choice to the sign-in and the consent page.
        #expect(entry.bodyText.contains("action=\"/device?ui_locales=pt-br\""))
        let signIn = b.send("POST", "/device", query: "ui_locales=pt-br", body: "user_code=\(user)&csrf_token=\(b.csrf ?? "")")
        #expect(Self.language(of: signIn) == "pt-br")
        #expect(signIn.bodyText.contains("action=\"/device/signin?ui_locales=pt-br\""))
        #expect(Self.language(of: b.get()) == "en")
        // ui_locales naming nothing we have leaves the default.
        #expect(Self.language(of: b.get("/device", query: "ui_locales=tlh")) == "en")
    }

    @Test func uiLocalesOfAnAuthorizationRequestSpeaksForItsPagesUntilTheSwitcherIsUsed() throws {
        let f = try Self.fixture(Self.portuguese)
        let b = Browser(f)
        b.get("/device", query: "lang=en")
        b.get(AuthorizationPageTests.authorize, query: AuthorizationPageTests.query(extra: [("ui_locales", "pt-BR fr")]))
        let signIn = try #require(b.last)
        #expect(Self.language(of: signIn) == "pt-br")
        let consent = try AuthorizationPageTests.signIn(b)
        #expect(consent.status == 200 && Self.language(of: consent) == "pt-br")
        // The switcher on the consent page: a GET of the page with the sealed request.
        let sealed = try #require(consent.bodyText.inputValue("request"))
        #expect(consent.bodyText.contains("href=\"/device/authorize?request=\(sealed)&amp;lang=en\""))
        let english = b.get(AuthorizationPageTests.page, query: "request=\(sealed)&lang=en")
        #expect(Self.language(of: english) == "en")
        // Re-sealed with the choice: the next POST keeps English, whatever the cookie says.
        b.cookies["__Host-devicegate_lang"] = "pt-br"
        let resealed = try #require(english.bodyText.inputValue("request"))
        #expect(resealed != sealed)
        let again = b.post(AuthorizationPageTests.page, [("request", resealed), ("action", "bogus")])
        #expect(Self.language(of: again) == "en")
    }

    @Test(arguments: ["%22%3E%3Cb%3Ex", "tlh", "en%3B%20Path%3D%2Fx", "EN-", String(repeating: "a", count: 40), "pt-br-x"])
    func aBogusLangIsIgnored(_ value: String) throws {
        let f = try Self.fixture(Self.portuguese)
        let b = Browser(f)
        b.acceptLanguage = "pt-BR"
        let page = b.get("/device", query: "lang=\(value)")
        #expect(page.status == 200)
        #expect(Self.language(of: page) == "pt-br")
        #expect(Self.languageCookies(page).isEmpty)
        let decoded = (try? FormDecoding.component(Array(value.utf8))) ?? value
        #expect(!page.bodyText.contains(decoded))
        #expect(!page.bodyText.contains(HTMLEscaping.escape(decoded)))
        // A cookie no language has is ignored too.
        b.cookies["__Host-devicegate_lang"] = "tlh"
        #expect(Self.language(of: b.get()) == "pt-br")
    }

    @Test func theSwitcherLinksEveryLanguageToThisPageOrToTheCodeEntry() throws {
        let f = try Self.fixture(Self.portuguese)
        let (_, user) = try f.startFlow()
        let b = Browser(f)
        let entry = b.get("/device", query: "code=\(user)&ui_locales=en")
        let html = entry.bodyText
        #expect(html.contains("<a href=\"/device?code=\(user)&amp;lang=en\" lang=\"en\" hreflang=\"en\" dir=\"ltr\" aria-current=\"true\">English</a>"))
        #expect(html.contains("<a href=\"/device?code=\(user)&amp;lang=pt-br\" lang=\"pt-br\" hreflang=\"pt-br\" dir=\"ltr\" aria-current=\"false\">Português (Brasil)</a>"))
        #expect(html.components(separatedBy: "aria-current=\"true\"").count == 2)
        // A POST's page (sign-in, consent) links to the code entry with its code.
        let signIn = b.enter(user)
        #expect(signIn.bodyText.contains("href=\"/device?code=\(user)&amp;lang=pt-br\""))
        let consent = b.signIn(code: user)
        #expect(consent.bodyText.contains("value=\"approve\"") && consent.bodyText.contains("href=\"/device?code=\(user)&amp;lang=pt-br\""))
        // Any other page: the code entry.
        #expect(b.get("/device/nowhere").bodyText.contains("href=\"/device?lang=pt-br\""))
        // Following a link from the consent page shows the code entry with the code, translated.
        let followed = b.get("/device", query: "code=\(user)&lang=pt-br")
        #expect(Self.language(of: followed) == "pt-br" && followed.bodyText.contains("value=\"\(user)\""))
    }

    // MARK: Hostile messages

    /// An operator's message holding markup, and a client name holding more, come out as
    /// text: every page keeps the element structure of a benign rendering (`PageShapes`).
    @Test func messagesAndValuesCannotAddMarkup() throws {
        let files = ["en.messages": """
        enter_lead = <script>alert(1)</script>
        consent_lead = {client} <img src=x onerror=alert(1)> wants in
        consent_warning_strong = </strong><b>bold
        footer_tagline = "><a href=//evil.example>x</a>
        scope_profile = <iframe src=//evil.example>
        """]
        let f = try Self.fixture(files) { config in
            config.clients[0].displayName = "\"><b>TV</b>"
        }
        let (_, user) = try f.startFlow(scope: "openid profile")
        let b = Browser(f)
        let pages = [b.get(), b.enter(user), b.signIn(code: user)]
        #expect(pages[2].bodyText.contains("value=\"approve\""))
        let templates = try PageTemplates(directory: nil)
        let shapes = PageShapes.all(pages: ["enter", "signin", "consent"].map { ($0, DefaultTemplates.textWithPartials($0)) }, render: templates.render)
        for page in pages {
            let tokens = try StrictHTML.tokens(page.bodyText)
            #expect(shapes.contains(StrictHTML.shape(tokens)), "\(page.bodyText)")
            let elements = tokens.compactMap { token -> String? in if case .start(let name, _) = token { return name } else { return nil } }
            #expect(!elements.contains("script") && !elements.contains("img") && !elements.contains("b") && !elements.contains("iframe"))
        }
        #expect(pages[0].bodyText.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(pages[2].bodyText.contains("<strong class=\"client\">&quot;&gt;&lt;b&gt;TV&lt;/b&gt;</strong> &lt;img src=x onerror=alert(1)&gt; wants in"))
        #expect(pages[2].bodyText.contains("&lt;iframe src=//evil.example&gt;"))
    }
}
