import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP

/// Cookie names and attributes of the verification page.
///
/// Production cookies are `__Host-` prefixed (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain,
/// so no other host or subdomain can plant or overwrite them), HttpOnly (no script ever reads
/// them) and SameSite=Lax (not sent on cross-site POSTs). `web.insecure_development_cookies`
/// drops Secure and the prefix for plain http://127.0.0.1. Package-visible for the fuzz harness
/// (Tests/Fuzz).
package struct WebCookies: Sendable {
    let secure: Bool
    let sessionLifetime: Int

    package init(settings: WebSettings) {
        secure = !settings.insecureDevelopmentCookies
        sessionLifetime = settings.sessionLifetime
    }

    package var sessionName: String { secure ? "__Host-devicegate_session" : "devicegate_session" }
    package var csrfName: String { secure ? "__Host-devicegate_csrf" : "devicegate_csrf" }
    /// The language the page's switcher chose (a tag, never a secret).
    package var languageName: String { secure ? "__Host-devicegate_lang" : "devicegate_lang" }

    private var attributes: String { "Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "") }

    func setSession(_ id: String) -> (String, String) {
        ("Set-Cookie", "\(sessionName)=\(id); \(attributes); Max-Age=\(sessionLifetime)")
    }

    func clearSession() -> (String, String) {
        ("Set-Cookie", "\(sessionName)=; \(attributes); Max-Age=0")
    }

    /// The anonymous CSRF cookie lives as long as the browser session.
    func setCSRF(_ value: String) -> (String, String) {
        ("Set-Cookie", "\(csrfName)=\(value); \(attributes)")
    }

    /// The switcher's choice, kept for a year; `tag` is one of the languages we have.
    func setLanguage(_ tag: String) -> (String, String) {
        ("Set-Cookie", "\(languageName)=\(tag); \(attributes); Max-Age=31536000")
    }

    /// The language cookie's value when it is shaped like a language tag (letters, digits and
    /// `-`, at most 35 bytes); whether we have that language is `Localisation`'s to say.
    package static func language(_ name: String, in header: String?) -> String? {
        value(name, in: header) { value in
            (1...35).contains(value.utf8.count)
                && value.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "-") }
        }
    }

    /// Values of the Cookie header, RFC 6265 §5.4 `name=value; name=value`. Only well-formed
    /// 43-character base64url values are returned: ours are always that shape.
    ///
    /// Split on bytes, not Characters: a `;` right after a prepended concatenation mark
    /// (U+0600–U+0605) belongs to the mark's grapheme cluster, so a Character split glued
    /// another site's cookie to ours and lost ours (found by Tests/Fuzz, target `cookie`).
    package static func value(_ name: String, in header: String?) -> String? {
        value(name, in: header, accepting: isToken)
    }

    static func value(_ name: String, in header: String?, accepting: (String) -> Bool) -> String? {
        guard let header else { return nil }
        let name = Array(name.utf8)
        for part in header.utf8.split(separator: UInt8(ascii: ";")) {
            var pair = part[...]
            while let f = pair.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { pair.removeFirst() }
            while let l = pair.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { pair.removeLast() }
            guard let eq = pair.firstIndex(of: UInt8(ascii: "=")), pair[..<eq].elementsEqual(name) else { continue }
            let value = String(decoding: pair[pair.index(after: eq)...], as: UTF8.self)
            if accepting(value) { return value }
        }
        return nil
    }

    package static func isToken(_ value: String) -> Bool {
        value.utf8.count == 43 && value.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
        }
    }

    /// 256 bits from the CSPRNG, base64url: 43 characters.
    static func newToken(_ random: some SecureRandom) -> String { Encoding.base64URL(random.bytes(32)) }
}
