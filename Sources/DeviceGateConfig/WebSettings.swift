import DeviceFlow
import Yams

/// Settings of the verification page (`web:` in the configuration file).
public struct WebSettings: Sendable, Equatable {
    /// How people sign in on the page.
    public enum SignIn: String, Sendable, Equatable {
        /// A local htpasswd file (bcrypt or yescrypt hashes), checked by the system's libcrypt.
        case embedded
        /// The user nginx authenticated (auth_basic, or auth_request to an SSO), passed as
        /// DEVICEGATE_REMOTE_USER (never REMOTE_USER). Trusted only in this mode.
        case delegated
    }

    /// A fixed-window limit: at most `maximum` failures per `windowSeconds`.
    public struct Limit: Sendable, Equatable {
        public var maximum: Int
        public var windowSeconds: Int
        public init(maximum: Int, windowSeconds: Int) {
            self.maximum = maximum
            self.windowSeconds = windowSeconds
        }
    }

    /// Brute-force limits (RFC 8628 §5.1 for user codes; sign-in likewise). The defaults and
    /// their arithmetic are in docs/security.md (Guessing user codes; Sign-in).
    public struct Limits: Sendable, Equatable {
        /// Failed user-code entries from one client IP.
        public var userCodePerIP = Limit(maximum: 10, windowSeconds: 600)
        /// Failed user-code entries from everyone together, across all workers.
        public var userCodeGlobal = Limit(maximum: 500, windowSeconds: 600)
        /// Failed sign-ins for one username.
        public var signInPerUser = Limit(maximum: 5, windowSeconds: 900)
        /// Failed sign-ins from one client IP.
        public var signInPerIP = Limit(maximum: 20, windowSeconds: 900)
        /// Failed sign-ins from one IPv6 /48 (a site's allocation: 65,536 /64s, each with its
        /// own `signInPerIP` budget).
        public var signInPerIPv6Prefix48 = Limit(maximum: 100, windowSeconds: 900)
        /// Failed sign-ins from everyone together, across all workers: the ceiling on password
        /// guessing from any number of addresses.
        public var signInGlobal = Limit(maximum: 1000, windowSeconds: 900)
        public init() {}
    }

    public var signIn: SignIn = .embedded
    /// The htpasswd file of embedded sign-in (`devicegate users add` writes it).
    public var usersFile = "/etc/devicegate/htpasswd"
    /// How long a sign-in lasts, in seconds.
    public var sessionLifetime = 28_800
    /// Development only: cookies without Secure and without the `__Host-` prefix, so the page
    /// works on plain http://127.0.0.1. Refused unless the issuer is http on a loopback host.
    public var insecureDevelopmentCookies = false
    /// A directory whose `<name>.mustache` files (and `style.css.mustache`) replace the
    /// built-in templates of the same name.
    public var templatesDirectory: String?
    public var productName = "devicegate"
    /// An https URL or an absolute path of the logo shown above each page.
    public var logoURL: String?
    /// `#rgb` or `#rrggbb`; buttons, links and the focus ring.
    public var accentColor = "#1d5fd1"
    /// Plain-words descriptions of scopes for the consent page, beyond the built-in ones, in
    /// one language (an operator's `scope_<name>` in a language file comes first).
    public var scopeDescriptions: [String: String] = [:]
    /// The pages' language for a person who asks for none we have (`Accept-Language`): a
    /// language tag, lowercase; that there are messages for it is checked when they load.
    public var defaultLanguage = "en"
    public var limits = Limits()
    /// How many password hashes all workers of the host compute at once (`nil`: half the
    /// online cores, at least one), so a flood of sign-ins cannot starve polls and `auth_request`.
    public var passwordHashSlots: Int?
    /// How long a sign-in waits for a free hash slot before it is answered 503 (milliseconds).
    /// Short on purpose: a waiting worker serves nothing else either.
    public var passwordHashWaitMilliseconds = 100

    public init() {}

    /// The accent colour as RGB bytes, nil if it is not `#rgb` / `#rrggbb`.
    public static func parseColor(_ text: String) -> (UInt8, UInt8, UInt8)? {
        guard text.hasPrefix("#") else { return nil }
        let hex = Array(text.utf8.dropFirst())
        let digits = hex.compactMap { Encoding.hexDigitValue($0) }
        guard digits.count == hex.count else { return nil }
        switch digits.count {
        case 3: return (digits[0] * 17, digits[1] * 17, digits[2] * 17)
        case 6: return (digits[0] << 4 | digits[1], digits[2] << 4 | digits[3], digits[4] << 4 | digits[5])
        default: return nil
        }
    }

    /// WCAG 2.x relative luminance of an sRGB colour.
    public static func luminance(_ rgb: (UInt8, UInt8, UInt8)) -> Double {
        func channel(_ c: UInt8) -> Double {
            let v = Double(c) / 255
            return v <= 0.04045 ? v / 12.92 : pow24((v + 0.055) / 1.055)
        }
        return 0.2126 * channel(rgb.0) + 0.7152 * channel(rgb.1) + 0.0722 * channel(rgb.2)
    }

    /// x^2.4 without Foundation: exp(2.4 ln x) by series is overkill; x^2 · x^0.4 with Newton for
    /// the fifth root of x^2 is exact enough for a contrast check.
    static func pow24(_ x: Double) -> Double {
        guard x > 0 else { return 0 }
        let square = x * x
        var root = 1.0  // fifth root of square
        for _ in 0..<60 { root -= (root * root * root * root * root - square) / (5 * root * root * root * root) }
        return square * root
    }

    /// WCAG contrast ratio of two colours (1...21).
    public static func contrast(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Double {
        let la = luminance(a), lb = luminance(b)
        return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
    }

    /// A logo URL is pasted into an `img src` and into the Content-Security-Policy: only https
    /// URLs (or absolute paths on this host) without spaces, quotes, `;` or `,`.
    public static func isAcceptableLogoURL(_ text: String) -> Bool {
        let forbidden: Set<UInt8> = [0x20, 0x22, 0x27, 0x3B, 0x2C, 0x3C, 0x3E, 0x5C, 0x60]
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !forbidden.contains($0) }) else { return false }
        if text.hasPrefix("/") { return !text.hasPrefix("//") }
        guard text.hasPrefix("https://") else { return false }
        let host = text.dropFirst(8).prefix { $0 != "/" }
        return !host.isEmpty && !host.contains("@")
    }
}

extension Reader {
    mutating func readWeb(_ node: Node, into web: inout WebSettings) {
        let keys: Set<String> = ["sign_in", "users_file", "session_lifetime", "insecure_development_cookies", "templates_dir",
                                 "product_name", "logo_url", "accent_color", "scope_descriptions", "limits",
                                 "password_hash_slots", "password_hash_wait_ms", "default_language"]
        for (key, value) in mapping(node, "web", allowed: keys) {
            let path = "web.\(key)"
            switch key {
            case "sign_in":
                if let text = string(value, path) {
                    if let mode = WebSettings.SignIn(rawValue: text) { web.signIn = mode } else {
                        issue(value, path, "expected embedded (the htpasswd users_file) or delegated (DEVICEGATE_REMOTE_USER from nginx)")
                    }
                }
            case "users_file":
                if let text = string(value, path) {
                    if text.hasPrefix("/") { web.usersFile = text } else { issue(value, path, "must be an absolute path") }
                }
            case "session_lifetime": web.sessionLifetime = int(value, path, range: 60...2_592_000) ?? web.sessionLifetime
            case "insecure_development_cookies":
                guard let text = string(value, path), let flag = Bool(text) else { issue(value, path, "expected true or false"); continue }
                web.insecureDevelopmentCookies = flag
            case "templates_dir":
                if let text = string(value, path) {
                    if text.hasPrefix("/") { web.templatesDirectory = text } else { issue(value, path, "must be an absolute path") }
                }
            case "product_name":
                if let text = string(value, path) {
                    if (1...80).contains(text.count) { web.productName = text } else { issue(value, path, "must be 1 to 80 characters") }
                }
            case "logo_url":
                if let text = string(value, path) {
                    if WebSettings.isAcceptableLogoURL(text) { web.logoURL = text } else {
                        issue(value, path, "expected an https:// URL or an absolute path, without spaces, quotes, ';' or ','")
                    }
                }
            case "accent_color":
                guard let text = string(value, path) else { continue }
                guard let rgb = WebSettings.parseColor(text) else {
                    issue(value, path, "expected a colour as #rgb or #rrggbb (quote it in YAML: \"#1d5fd1\")"); continue
                }
                let ratio = WebSettings.contrast(rgb, (255, 255, 255))
                guard ratio >= 4.5 else {
                    let shown = (ratio * 10).rounded() / 10
                    issue(value, path, "\(text) has a contrast of \(shown):1 against white; links and button text need at least 4.5:1 (WCAG AA): pick a darker colour")
                    continue
                }
                web.accentColor = text
            case "scope_descriptions":
                for (scope, description) in mapping(value, path, allowed: nil) {
                    if let text = string(description, "\(path).\(scope)") { web.scopeDescriptions[scope] = text }
                }
            case "default_language":
                guard let text = string(value, path) else { continue }
                let tag = text.lowercased()
                let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...35).contains(tag.utf8.count), subtags.allSatisfy({ (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }) else {
                    issue(value, path, "expected a language tag such as en, de or pt-br"); continue
                }
                web.defaultLanguage = tag
            case "limits": readLimits(value, into: &web.limits)
            case "password_hash_slots": web.passwordHashSlots = int(value, path, range: 1...256) ?? web.passwordHashSlots
            case "password_hash_wait_ms": web.passwordHashWaitMilliseconds = int(value, path, range: 0...10_000) ?? web.passwordHashWaitMilliseconds
            default: break
            }
        }
    }

    mutating func readLimits(_ node: Node, into limits: inout WebSettings.Limits) {
        let fields: [(String, WritableKeyPath<WebSettings.Limits, WebSettings.Limit>)] = [
            ("user_code_per_ip", \.userCodePerIP), ("user_code_global", \.userCodeGlobal), ("sign_in_per_user", \.signInPerUser),
            ("sign_in_per_ip", \.signInPerIP), ("sign_in_per_ipv6_48", \.signInPerIPv6Prefix48), ("sign_in_global", \.signInGlobal),
        ]
        for (key, value) in mapping(node, "web.limits", allowed: Set(fields.map(\.0))) {
            guard let field = fields.first(where: { $0.0 == key })?.1 else { continue }
            let path = "web.limits.\(key)"
            var limit = limits[keyPath: field]
            for (name, v) in mapping(value, path, allowed: ["max_failures", "window"]) {
                switch name {
                case "max_failures": limit.maximum = int(v, "\(path).\(name)", range: 1...999_998) ?? limit.maximum
                default: limit.windowSeconds = int(v, "\(path).\(name)", range: 1...86_400) ?? limit.windowSeconds
                }
            }
            limits[keyPath: field] = limit
        }
    }

    /// Checks of `web:` that need the rest of the configuration.
    mutating func validateWeb(_ config: DeviceGateConfiguration) {
        if config.web.insecureDevelopmentCookies {
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            if !loopback.contains(where: { config.issuer.hasPrefix($0 + ":") || config.issuer.hasPrefix($0 + "/") }) {
                issue(at: "web.insecure_development_cookies", "is for development on http://127.0.0.1 only; with an https issuer cookies must be Secure (remove it)")
            }
        }
    }
}
