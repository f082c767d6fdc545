import DeviceGateTesting
@testable import DeviceGateWeb
import Testing

/// An operator's `<templates_dir>/<tag>.messages`: what `Localisation` loads, every problem it
/// reports (each with the file's name), and how scope descriptions combine.
@Suite struct LocalisationFilesTests {
    /// English's messages as a file, with `changes` applied (nil removes the key).
    static func english(_ changes: [String: String?] = [:]) -> String {
        var messages = Localisation.builtIn.catalogs["en"]!.messages
        for (key, value) in changes { messages[key] = value }
        return messages.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: "\n") + "\n"
    }

    /// Loads a directory holding `files` (name → text); the problems, or nil when it loads.
    static func problems(_ files: [String: String], defaultLanguage: String = "en") throws -> (dir: String, problems: [String]?) {
        let dir = TemporaryDirectory()
        for (name, text) in files { try writeFile("\(dir.path)/\(name)", text) }
        defer { dir.remove() }
        do {
            _ = try Localisation(directory: dir.path, defaultLanguage: defaultLanguage)
            return (dir.path, nil)
        } catch {
            return (dir.path, error.problems)
        }
    }

    @Test func theBuiltInLanguagesLoadAndAreComplete() throws {
        let builtIn = try Localisation(directory: nil)
        #expect(Set(builtIn.catalogs.keys) == Set(BuiltInMessages.all.map(\.tag)))
        let english = try #require(builtIn.catalogs["en"])
        for catalog in builtIn.languages {
            #expect(catalog.messages["language_name"]?.isEmpty == false, "\(catalog.tag)")
            let missing = english.messages.keys.filter { !$0.hasPrefix("scope_") && catalog.messages[$0] == nil }
            #expect(missing.isEmpty, "\(catalog.tag) lacks \(missing)")
        }
    }

    @Test func anAddedLanguageIsOfferedAndChosen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeFile("\(dir.path)/pt-BR.messages", Self.english(["language_name": "Português (Brasil)", "enter_title": "Conectar um dispositivo"]))
        let localisation = try Localisation(directory: dir.path)
        #expect(localisation.languages.map(\.tag).contains("pt-br"))
        #expect(localisation.overrides == ["\(dir.path)/pt-BR.messages"])
        let chosen = localisation.choose(uiLocales: nil, cookie: nil, acceptLanguage: "pt-BR, en;q=0.5")
        #expect(chosen.tag == "pt-br" && chosen.text("enter_title") == "Conectar um dispositivo" && chosen.name == "Português (Brasil)")
        #expect(localisation.choose(uiLocales: nil, cookie: nil, acceptLanguage: "pt").tag == "en")
    }

    @Test func anOverrideReplacesKeyByKeyAndKeepsTheRest() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeFile("\(dir.path)/en.messages", "# ours\nenter_title = Pair your TV\n")
        let english = try #require(try Localisation(directory: dir.path).catalogs["en"])
        #expect(english.text("enter_title") == "Pair your TV")
        #expect(english.text("consent_title") == Localisation.builtIn.catalogs["en"]!.text("consent_title"))
        #expect(english.overridden == ["enter_title"])
    }

    @Test func everyProblemIsNamedWithItsFile() throws {
        let (dir, problems) = try Self.problems([
            "en.messages": "enter_titel = Typo\nconsent_lead = {client} wants in, says {someone}\n",
            "xx.messages": Self.english(["done_back": nil, "code_unknown": nil]),
            "yy.messages": "language_name = Y\n\nthis line has no equals sign\n",
            "zz.messages": Self.english(["language_direction": "sideways"]),
            "not a tag!.messages": "x = y\n",
        ])
        let all = try #require(problems, "a broken directory loaded")
        let text = all.joined(separator: "\n")
        #expect(all.contains { $0.hasPrefix("\(dir)/en.messages:") && $0.contains("`enter_titel` is not a message key") }, "\(text)")
        #expect(all.contains { $0.hasPrefix("\(dir)/en.messages:") && $0.contains("`consent_lead` has placeholders {client}, {someone} where English has {client}") }, "\(text)")
        #expect(all.contains { $0.hasPrefix("\(dir)/xx.messages:") && $0.contains("missing `code_unknown`, `done_back`") }, "\(text)")
        #expect(all.contains { $0 == "\(dir)/yy.messages:3: expected `key = text`" }, "\(text)")
        #expect(all.contains { $0.hasPrefix("\(dir)/zz.messages:") && $0.contains("language_direction is `ltr` or `rtl`, not `sideways`") }, "\(text)")
        #expect(all.contains { $0.hasPrefix("\(dir)/not a tag!.messages:") && $0.contains("must be a language tag") }, "\(text)")
    }

    @Test func aKeyGivenTwiceIsAParseError() throws {
        let (dir, problems) = try Self.problems(["en.messages": "enter_title = A\n# note\nenter_title = B\n"])
        #expect(problems == ["\(dir)/en.messages:3: `enter_title` is given twice"])
    }

    @Test func theDefaultLanguageMustExist() throws {
        let (_, problems) = try Self.problems([:], defaultLanguage: "tlh")
        #expect(problems?.count == 1)
        #expect(problems?.first?.hasPrefix("web.default_language: no messages for `tlh`") == true)
        #expect(try Self.problems([:], defaultLanguage: "EN").problems == nil)
    }

    /// An operator's `scope_<name>` in a language file > `web.scope_descriptions` > the
    /// built-in `scope_<name>` of the language > English's > `scope_generic`.
    @Test func scopeDescriptionsCombineInOrder() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeFile("\(dir.path)/en.messages", "scope_profile = Ours for profile\nscope_api_read = Read the API\n")
        try writeFile("\(dir.path)/xx.messages", Self.english(["scope_email": nil, "scope_generic": "Permission «{scope}»"]))
        let localisation = try Localisation(directory: dir.path)
        let en = try #require(localisation.catalogs["en"]), xx = try #require(localisation.catalogs["xx"])
        let configured = ["profile": "Configured profile", "email": "Configured email", "groups": "Configured groups"]
        let builtIn = Localisation.builtIn.catalogs["en"]!
        #expect(localisation.scopeDescription("profile", in: en, configured: configured) == "Ours for profile")
        #expect(localisation.scopeDescription("api_read", in: en, configured: configured) == "Read the API")
        #expect(localisation.scopeDescription("email", in: en, configured: configured) == "Configured email")
        #expect(localisation.scopeDescription("email", in: en, configured: [:]) == builtIn.text("scope_email"))
        // xx's file is the operator's too: each of its scope_ keys beats the configured text.
        #expect(localisation.scopeDescription("profile", in: xx, configured: configured) == builtIn.text("scope_profile"))
        #expect(localisation.scopeDescription("email", in: xx, configured: [:]) == builtIn.text("scope_email"))
        #expect(localisation.scopeDescription("email", in: xx, configured: configured) == "Configured email")
        #expect(localisation.scopeDescription("write:all", in: xx, configured: [:]) == "Permission «write:all»")
        #expect(localisation.scopeDescription("write:all", in: en, configured: [:]) == "Use the “write:all” permission")
    }

    /// A file edited on Windows (CRLF line ends) is read line by line like any other, rather
    /// than as one comment line whose overrides silently vanish.
    @Test func crlfLineEndsAreReadLikeLF() throws {
        let text = "# Deutsch, edited on Windows\r\nenter_title = Gerät koppeln\r\nconsent_title = Zugriff erlauben?\r\n"
        let messages = try MessageFile.parse(text)
        #expect(messages == ["enter_title": "Gerät koppeln", "consent_title": "Zugriff erlauben?"])
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeFile("\(dir.path)/de.messages", text)
        #expect(try Localisation(directory: dir.path).catalogs["de"]?.text("enter_title") == "Gerät koppeln")
    }

    /// The files `devicegate templates` writes hold the built-in texts: copied unchanged into
    /// `templates_dir`, they do not shadow `web.scope_descriptions`; a changed one does.
    @Test func anUnchangedCopyOfTheBuiltInMessagesLeavesTheConfiguredScopeDescriptions() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try writeFile("\(dir.path)/en.messages", Self.english())
        let copied = try Localisation(directory: dir.path)
        let configured = ["email": "Configured email"]
        #expect(copied.scopeDescription("email", in: copied.catalogs["en"]!, configured: configured) == "Configured email")
        try writeFile("\(dir.path)/en.messages", Self.english(["scope_email": "Our own words for email"]))
        let changed = try Localisation(directory: dir.path)
        #expect(changed.scopeDescription("email", in: changed.catalogs["en"]!, configured: configured) == "Our own words for email")
    }
}
