/// Escaping for the text log format, logfmt style: `key=value`, or `key="value"` when the value
/// is empty or holds a space, `"`, `=` or `\`. Inside, `"` and `\` get a backslash, and
/// control characters, line and paragraph separators and bidi controls are written as
/// `\n`, `\r`, `\t` or `\u{...}`, so nothing a client sends can end a line, add a field, or
/// make a line read differently from what it holds.
enum LogText {
    static func escaped(_ value: String) -> String {
        var out = ""
        var needsQuotes = value.isEmpty
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"", "\\":
                needsQuotes = true
                out.unicodeScalars.append("\\")
                out.unicodeScalars.append(scalar)
            case " ", "=":
                needsQuotes = true
                out.unicodeScalars.append(scalar)
            case "\n": needsQuotes = true; out += "\\n"
            case "\r": needsQuotes = true; out += "\\r"
            case "\t": needsQuotes = true; out += "\\t"
            default:
                if isUnsafe(scalar) {
                    needsQuotes = true
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return needsQuotes ? "\"\(out)\"" : out
    }

    /// Free text (the message, keys): only what could end the line or disguise it is escaped.
    static func lineSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: if isUnsafe(scalar) { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// C0 and C1 controls, DEL, U+2028/U+2029 (line breaks to some readers), and the bidi
    /// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
