/// The one HTML escaping of devicegate: every value that reaches a page template or an HTML
/// page goes through `HTMLEscaping.escape`.
///
/// It works on UTF-8 bytes, not on Swift `Character`s. A `Character` is a grapheme cluster: a
/// `"` followed by U+0301 (combining acute), or a `<` after U+0600 (an Arabic prepend mark),
/// is one `Character` that equals neither `"` nor `<`, so an escaper that compares
/// `Character`s writes it out raw and the value leaves its attribute (issue 10, item 1; this
/// is how swift-mustache's own `htmlEscape` fails). An HTML tokenizer reads code points
/// (WHATWG HTML §13.2.5), and every character with a meaning to it is ASCII, so replacing
/// those bytes is exact whatever surrounds them.
///
/// Escaped: `&` `<` `>` `"` `'` and `` ` `` (an old attribute quote), so the result is safe
/// in text and in a quoted attribute value. NUL and the other C0 controls but tab, LF and CR
/// become U+FFFD, as an HTML parser would read them anyway. An unquoted attribute value is not
/// made safe by any escaping: templates quote every attribute (`PageTemplates` refuses an
/// override that does not).
public enum HTMLEscaping {
    public static func escape(_ text: String) -> String {
        let bytes = text.utf8
        guard bytes.contains(where: needsWork) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\""): out += Array("&quot;".utf8)
            case UInt8(ascii: "'"): out += Array("&#39;".utf8)
            case UInt8(ascii: "`"): out += Array("&#96;".utf8)
            case 0x09, 0x0A, 0x0D: out.append(byte)
            case 0x00..<0x20, 0x7F: out += [0xEF, 0xBF, 0xBD]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func needsWork(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"): true
        case 0x09, 0x0A, 0x0D: false
        case 0x00..<0x20, 0x7F: true
        default: false
        }
    }
}
