import DeviceFlow
import DeviceGateConfig
import Testing

/// `web:` in the configuration file: every setting, and every refusal with its line.
struct WebSettingsTests {
    static let head = """
    issuer: https://auth.example.com/application/o/devicegate/
    clients:
      - client_id: tv
    """

    func load(_ web: String, issuer: String? = nil) throws(ConfigurationError) -> DeviceGateConfiguration {
        var yaml = Self.head + "\n" + web
        if let issuer { yaml = yaml.replacingIssuer(issuer) }
        return try ConfigurationLoader().load(yaml: yaml, fileName: "dg.yaml")
    }

    func issues(_ web: String, issuer: String? = nil) -> [ConfigurationIssue] {
        do { _ = try load(web, issuer: issuer); return [] } catch { return error.issues }
    }

    @Test func defaultsFollowTheDocumentedArithmetic() throws {
        let web = try load("").web
        #expect(web.signIn == .embedded)
        #expect(web.usersFile == "/etc/devicegate/htpasswd")
        #expect(!web.insecureDevelopmentCookies)
        #expect(web.limits.userCodePerIP == .init(maximum: 10, windowSeconds: 600))
        #expect(web.limits.userCodeGlobal == .init(maximum: 500, windowSeconds: 600))
        #expect(web.limits.signInPerUser == .init(maximum: 5, windowSeconds: 900))
        #expect(web.limits.signInPerIP == .init(maximum: 20, windowSeconds: 900))
    }

    @Test func everySettingIsRead() throws {
        let web = try load("""
        web:
          sign_in: delegated
          users_file: /srv/users
          session_lifetime: 3600
          templates_dir: /etc/devicegate/templates
          product_name: Acme TV
          logo_url: https://cdn.example.com/acme.svg
          accent_color: "#063"
          scope_descriptions:
            read:media: Play your media
          limits:
            user_code_per_ip: {max_failures: 3, window: 60}
            user_code_global: {max_failures: 100}
            sign_in_per_user: {window: 120}
            sign_in_per_ip: {max_failures: 7, window: 70}
        """).web
        #expect(web.signIn == .delegated)
        #expect(web.usersFile == "/srv/users")
        #expect(web.sessionLifetime == 3600)
        #expect(web.templatesDirectory == "/etc/devicegate/templates")
        #expect(web.productName == "Acme TV")
        #expect(web.logoURL == "https://cdn.example.com/acme.svg")
        #expect(web.scopeDescriptions["read:media"] == "Play your media")
        #expect(web.limits.userCodePerIP == .init(maximum: 3, windowSeconds: 60))
        #expect(web.limits.userCodeGlobal == .init(maximum: 100, windowSeconds: 600))
        #expect(web.limits.signInPerUser == .init(maximum: 5, windowSeconds: 120))
        #expect(web.limits.signInPerIP == .init(maximum: 7, windowSeconds: 70))
    }

    @Test(arguments: ["red", "#12345", "#ggg", "1d5fd1", "#ffff00", "#dddddd"])
    func badOrTooLightAccentColoursAreRefusedWithTheirLine(_ colour: String) {
        let found = issues("web:\n  accent_color: \"\(colour)\"")
        #expect(found.count == 1)
        #expect(found.first?.location == "dg.yaml:5:17")
        #expect(found.first?.key == "web.accent_color")
    }

    /// `web.default_language`: a language tag, lowercased; that messages exist for it is
    /// Localisation's check (`check-config`), which this module cannot see.
    @Test func defaultLanguageIsALanguageTag() throws {
        #expect(try load("").web.defaultLanguage == "en")
        #expect(try load("web:\n  default_language: pt-BR").web.defaultLanguage == "pt-br")
        for bad in ["\"de;q=1\"", "\"\"", "\"en_US\"", "\"toolonglanguage\"", "\"<b>\""] {
            #expect(issues("web:\n  default_language: \(bad)").map(\.key) == ["web.default_language"], "\(bad)")
        }
    }

    @Test(arguments: ["#1d5fd1", "#000", "#7A1F5C", "#0b5394"])
    func darkEnoughAccentColoursAreAccepted(_ colour: String) throws {
        #expect(try load("web:\n  accent_color: \"\(colour)\"").web.accentColor == colour)
    }

    @Test(arguments: ["http://cdn.example.com/x.png", "https://a.example/x.png'; script-src *", "//evil.example/x", "javascript:alert(1)", "https://u@h/x"])
    func unsafeLogoURLsAreRefused(_ url: String) {
        #expect(issues("web:\n  logo_url: \"\(url)\"").map(\.key) == ["web.logo_url"])
    }

    @Test func insecureCookiesOnlyForLoopbackHTTP() throws {
        #expect(issues("web:\n  insecure_development_cookies: true").map(\.key) == ["web.insecure_development_cookies"])
        let config = try load("web:\n  insecure_development_cookies: true", issuer: "http://127.0.0.1:8080/o/")
        #expect(config.web.insecureDevelopmentCookies)
    }

    @Test func typosAndBadValuesAreReported() {
        let found = issues("""
        web:
          sign_in: sso
          users_file: relative/path
          limts: {}
          limits:
            user_code_per_ip: {max_failures: 0}
        """)
        #expect(Set(found.map(\.key)) == ["web.sign_in", "web.users_file", "web.limts", "web.limits.user_code_per_ip.max_failures"])
    }

    @Test func signInBudgetsAndHashSlotsHaveDefaultsAndAreRead() throws {
        let defaults = try load("").web
        #expect(defaults.limits.signInPerIPv6Prefix48 == .init(maximum: 100, windowSeconds: 900))
        #expect(defaults.limits.signInGlobal == .init(maximum: 1000, windowSeconds: 900))
        #expect(defaults.passwordHashSlots == nil)
        #expect(defaults.passwordHashWaitMilliseconds == 100)
        let web = try load("""
        web:
          password_hash_slots: 3
          password_hash_wait_ms: 0
          limits:
            sign_in_per_ipv6_48: {max_failures: 40, window: 300}
            sign_in_global: {max_failures: 200}
        """).web
        #expect(web.limits.signInPerIPv6Prefix48 == .init(maximum: 40, windowSeconds: 300))
        #expect(web.limits.signInGlobal == .init(maximum: 200, windowSeconds: 900))
        #expect(web.passwordHashSlots == 3)
        #expect(web.passwordHashWaitMilliseconds == 0)
    }

    @Test(arguments: [
        ("password_hash_slots: 0", "web.password_hash_slots", "dg.yaml:5:24"),
        ("password_hash_wait_ms: 60000", "web.password_hash_wait_ms", "dg.yaml:5:26"),
        ("limits: {sign_in_global: {max_failures: 1000000}}", "web.limits.sign_in_global.max_failures", "dg.yaml:5:43"),
        ("limits: {sign_in_per_ipv6_48: {window: 0}}", "web.limits.sign_in_per_ipv6_48.window", "dg.yaml:5:42"),
    ])
    func badSignInBudgetsAndHashSlotsAreRefusedWithTheirPlace(_ line: String, _ key: String, _ location: String) {
        let found = issues("web:\n  " + line)
        #expect(found.map(\.key) == [key])
        #expect(found.first?.location == location)
    }

    @Test func contrastArithmetic() {
        #expect(abs(WebSettings.contrast((0, 0, 0), (255, 255, 255)) - 21) < 0.01)
        #expect(abs(WebSettings.contrast((0x1D, 0x5F, 0xD1), (255, 255, 255)) - 5.8) < 0.2)
    }
}

extension String {
    func replacingIssuer(_ issuer: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("issuer:") ? "issuer: \(issuer)" : String($0) }.joined(separator: "\n")
    }
}
