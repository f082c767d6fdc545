import DeviceGateHTTP

/// One language's messages: every text a page shows, by key (`enter_title`, `consent_warning`,
/// `scope_openid`, …). Pages reach them as `{{t.key}}`; texts with placeholders are filled in by
/// the page code (`text(_:_:)`, `markup(_:_:emphasised:)`) before rendering.
///
/// A message file is UTF-8 lines of `key = text` (`MessageFile`); `{name}` in a text is a
/// placeholder, `{{` and `}}` a literal brace. Two keys describe the language itself:
/// `language_name` (its own name, for the switcher) and `language_direction` (`ltr` or `rtl`).
public struct MessageCatalog: Sendable {
    /// The BCP 47 tag, lowercase ("en", "de", "pt-br").
    public let tag: String
    public let messages: [String: String]
    /// The keys an operator's `<templates_dir>/<tag>.messages` set (for `scopeDescription`).
    public let overridden: Set<String>

    public init(tag: String, messages: [String: String], overridden: Set<String> = []) {
        self.tag = tag.lowercased()
        self.messages = messages
        self.overridden = overridden
    }

    /// The language's own name ("Deutsch"), for the switcher.
    public var name: String { messages["language_name"] ?? tag }
    /// Right to left (Arabic, Hebrew, …): the pages get `dir="rtl"`.
    public var isRightToLeft: Bool { messages["language_direction"] == "rtl" }

    /// The text of `key` with its placeholders filled in from `values` (plain text: the page
    /// escapes it like any other value). A key no catalog has renders as the key itself, so a
    /// missing message is visible, never an empty page; `Localisation` refuses to start with one.
    public func text(_ key: String, _ values: [String: String] = [:]) -> String {
        guard let message = messages[key] else { return key }
        return MessageFile.fill(message, escape: { $0 }) { name in values[name] }
    }

    /// The text of `key` as markup: the message escaped, each placeholder's value escaped and,
    /// when its name is in `emphasised`, wrapped in `<strong class="name">`. Nothing from the
    /// message file or the values can add markup of its own.
    func markup(_ key: String, _ values: [String: String], emphasised: Set<String> = []) -> MarkupText {
        let message = messages[key] ?? key
        let html = MessageFile.fill(message, escape: { HTMLEscaping.escape($0) }) { name in
            guard let value = values[name] else { return nil }
            let escaped = HTMLEscaping.escape(value)
            return emphasised.contains(name) ? "<strong class=\"\(name.replacingUnderscores)\">\(escaped)</strong>" : escaped
        }
        return MarkupText(html: html)
    }
}

private extension String {
    /// A placeholder name as a CSS class: `client_name` → `client-name` (names are [a-z_]).
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// Markup built by `MessageCatalog.markup`: already escaped, written as is.
struct MarkupText: Sendable {
    let html: String
}

/// The message file format (`<templates_dir>/<tag>.messages`, and the built-in ones).
public enum MessageFile {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// `key = text` per line; blank lines and lines starting with `#` are skipped; a key is
    /// `[a-z0-9_]+`; a key given twice is an error, as is a line without `=`.
    public static func parse(_ text: String) throws(ParseError) -> [String: String] {
        var messages: [String: String] = [:]
        // Lines end in LF or CRLF (a file edited on Windows). Split on scalars: "\r\n" is one
        // Character, so splitting the String on "\n" would never split such a file.
        let text = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" }))
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ParseError(line: index + 1, reason: "expected `key = text`")
            }
            let key = String(trimmed[..<equals]).trimmingSpaces
            guard !key.isEmpty, key.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) else {
                throw ParseError(line: index + 1, reason: "a key is lowercase letters, digits and _, not `\(key.prefix(40))`")
            }
            guard messages[key] == nil else { throw ParseError(line: index + 1, reason: "`\(key)` is given twice") }
            messages[key] = String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces
        }
        return messages
    }

    /// The placeholder names of a text (`{client_name}` → `client_name`).
    public static func placeholders(in text: String) -> Set<String> {
        var names: Set<String> = []
        _ = fill(text, escape: { $0 }) { names.insert($0); return "" }
        return names
    }

    /// Writes `text` with each literal run passed through `escape` and each `{name}` replaced
    /// by `value(name)` (left as written when nil). `{{` and `}}` are literal braces.
    static func fill(_ text: String, escape: (String) -> String, value: (String) -> String?) -> String {
        var out = ""
        var literal = ""
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if c == "{", chars.first == "{" { chars.removeFirst(); literal.append("{"); continue }
            if c == "}", chars.first == "}" { chars.removeFirst(); literal.append("}"); continue }
            if c == "{", let close = chars.firstIndex(of: "}") {
                let name = String(chars[..<close])
                if !name.isEmpty, name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }) {
                    out += escape(literal)
                    literal = ""
                    out += value(name) ?? escape("{\(name)}")
                    chars = chars[chars.index(after: close)...]
                    continue
                }
            }
            literal.append(c)
        }
        return out + escape(literal)
    }
}

private extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " && $0 != "\t" }.map { scalars.index(after: $0) } ?? start
        return String(scalars[start..<max(start, end)])
    }
}
