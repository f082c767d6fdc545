/// A strict tokenizer for the HTML devicegate writes, for tests and the fuzzer: it reads tags,
/// attributes and text as a browser would (WHATWG HTML §13.2.5, by code point, not by
/// grapheme cluster) and refuses anything our templates never write, so a value that escaped
/// its text node or attribute shows up either as a refusal or as structure.
///
/// Refused: a `<` that starts no tag, a `>` or a bare `&` in text, an unquoted or
/// single-quoted attribute value, `<`, `>` or a bare `&` inside a value, a repeated attribute,
/// an unknown character reference, comments, and `<script`/`<style` (none of ours has one).
public enum StrictHTML {
    public enum Token: Equatable, Sendable {
        case doctype
        case start(String, [(name: String, value: String)])
        case end(String)
        case text(String)

        public static func == (a: Token, b: Token) -> Bool {
            switch (a, b) {
            case (.doctype, .doctype): true
            case let (.start(n1, a1), .start(n2, a2)): n1 == n2 && a1.elementsEqual(a2) { $0.name == $1.name && $0.value == $1.value }
            case let (.end(n1), .end(n2)): n1 == n2
            case let (.text(t1), .text(t2)): t1 == t2
            default: false
            }
        }

        /// The token without its text: what "structure" means when pages are compared.
        public var shape: String? {
            switch self {
            case .doctype: "<!doctype>"
            case let .start(name, attributes): "<\(name)" + attributes.map { " " + $0.name }.joined() + ">"
            case let .end(name): "</\(name)>"
            case .text: nil
            }
        }
    }

    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The tokens of `html`; text between tags comes as one `.text` with references decoded.
    public static func tokens(_ html: String) throws(Refusal) -> [Token] {
        let s = Array(html.unicodeScalars)
        var i = 0
        var tokens: [Token] = []
        var text = ""
        func fail(_ what: String) -> Refusal {
            let context = String(String.UnicodeScalarView(s[max(0, i - 30)..<min(s.count, i + 30)]))
            return Refusal(description: "\(what) at scalar \(i), near \(String(reflecting: context))")
        }
        func isNameScalar(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-"
        }
        func readName() -> String {
            var name = ""
            while i < s.count, isNameScalar(s[i]) { name.unicodeScalars.append(s[i]); i += 1 }
            return name.lowercased()
        }
        func skipSpace() { while i < s.count, [" ", "\n", "\t", "\r", "\u{C}"].contains(s[i]) { i += 1 } }
        func reference() throws(Refusal) -> Unicode.Scalar {
            // s[i] == "&"
            var j = i + 1
            var name = ""
            while j < s.count, s[j] != ";", j - i < 12 { name.unicodeScalars.append(s[j]); j += 1 }
            guard j < s.count, s[j] == ";" else { throw fail("a bare &") }
            let named: [String: Unicode.Scalar] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
            var scalar = named[name]
            if scalar == nil, name.hasPrefix("#x") || name.hasPrefix("#X") { scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
            else if scalar == nil, name.hasPrefix("#") { scalar = UInt32(name.dropFirst(1)).flatMap(Unicode.Scalar.init) }
            guard let scalar, scalar != "\u{0}" else { throw fail("an unknown character reference &\(name);") }
            i = j + 1
            return scalar
        }
        while i < s.count {
            let c = s[i]
            if c == "&" {
                text.unicodeScalars.append(try reference())
                continue
            }
            if c == ">" { throw fail("a raw > in text") }
            if c == "\u{0}" { throw fail("a NUL") }
            guard c == "<" else { text.unicodeScalars.append(c); i += 1; continue }
            if !text.isEmpty { tokens.append(.text(text)); text = "" }
            i += 1
            guard i < s.count else { throw fail("a < at the end") }
            if s[i] == "!" {
                let rest = String(String.UnicodeScalarView(s[i..<min(s.count, i + 15)])).lowercased()
                guard rest.hasPrefix("!doctype html>") else { throw fail("a comment or declaration") }
                i += 14
                tokens.append(.doctype)
                continue
            }
            let closing = s[i] == "/"
            if closing { i += 1 }
            guard i < s.count, ("a"..."z").contains(s[i]) || ("A"..."Z").contains(s[i]) else { throw fail("a < that starts no tag") }
            let name = readName()
            if name == "script" || name == "style" { throw fail("a <\(name)>") }
            if closing {
                skipSpace()
                guard i < s.count, s[i] == ">" else { throw fail("an end tag with more than a name") }
                i += 1
                tokens.append(.end(name))
                continue
            }
            var attributes: [(name: String, value: String)] = []
            while true {
                skipSpace()
                guard i < s.count else { throw fail("an unfinished tag") }
                if s[i] == ">" { i += 1; break }
                if s[i] == "/", i + 1 < s.count, s[i + 1] == ">" { i += 2; break }
                guard isNameScalar(s[i]) else { throw fail("a stray \(String(reflecting: String(s[i]))) in a tag") }
                let attribute = readName()
                guard !attributes.contains(where: { $0.name == attribute }) else { throw fail("a repeated attribute \(attribute)") }
                skipSpace()
                var value = ""
                if i < s.count, s[i] == "=" {
                    i += 1
                    skipSpace()
                    guard i < s.count, s[i] == "\"" else { throw fail("an attribute value without double quotes") }
                    i += 1
                    while true {
                        guard i < s.count else { throw fail("an unfinished attribute value") }
                        let v = s[i]
                        if v == "\"" { i += 1; break }
                        if v == "<" || v == ">" { throw fail("a raw \(v) in an attribute value") }
                        if v == "&" { value.unicodeScalars.append(try reference()); continue }
                        value.unicodeScalars.append(v)
                        i += 1
                    }
                    guard i >= s.count || [" ", "\n", "\t", ">", "/"].contains(s[i]) else { throw fail("no space after an attribute value") }
                }
                attributes.append((attribute, value))
            }
            tokens.append(.start(name, attributes))
        }
        if !text.isEmpty { tokens.append(.text(text)) }
        return tokens
    }

    /// The element and attribute structure: tags and attribute names, no text or values, with
    /// text dropped. Where a list item is followed by a sibling item of the same shape, the
    /// repeats are folded into one, so any number of scopes has the shape of one (only `li`:
    /// folding the consent form's hidden inputs would hide an injected one). Lists inside list
    /// items fold first, so any number of grants with any number of scopes each ("Your
    /// devices") has the shape of one grant with one scope.
    public static func shape(_ tokens: [Token]) -> [String] {
        var shapes: [String] = []
        for token in tokens { if let shape = token.shape { shapes.append(shape) } }
        return folded(shapes[...])
    }

    /// `shapes` with each run of identical sibling `li` subtrees folded into one, innermost first.
    static func folded(_ shapes: ArraySlice<String>) -> [String] {
        var out: [String] = []
        var k = shapes.startIndex
        while k < shapes.endIndex {
            if name(of: shapes[k]) == "li", !shapes[k].hasPrefix("</"), let end = subtreeEnd(shapes, from: k), end > k {
                let item = [shapes[k]] + folded(shapes[(k + 1)..<end]) + [shapes[end]]
                if previousSiblingStart(out).map({ Array(out[$0...]) != item }) ?? true { out += item }
                k = end + 1
                continue
            }
            out.append(shapes[k])
            k += 1
        }
        return out
    }

    static let voidElements: Set<String> = ["meta", "link", "img", "input", "br", "hr"]

    static func name(of shape: String) -> String {
        String(shape.drop { $0 == "<" || $0 == "/" }.prefix { $0 != " " && $0 != ">" })
    }

    static func subtreeEnd(_ shapes: ArraySlice<String>, from start: Int) -> Int? {
        let tag = name(of: shapes[start])
        if voidElements.contains(tag) { return start }
        var depth = 0
        for j in start..<shapes.endIndex where name(of: shapes[j]) == tag {
            depth += shapes[j].hasPrefix("</") ? -1 : 1
            if depth == 0 { return j }
        }
        return nil
    }

    /// Where the subtree that ends `out` starts, if `out` ends with a closed element.
    static func previousSiblingStart(_ out: [String]) -> Int? {
        guard let last = out.last else { return nil }
        let tag = name(of: last)
        if !last.hasPrefix("</") { return voidElements.contains(tag) ? out.count - 1 : nil }
        var depth = 0
        for j in stride(from: out.count - 1, through: 0, by: -1) where name(of: out[j]) == tag {
            depth += out[j].hasPrefix("</") ? 1 : -1
            if depth == 0 { return j }
        }
        return nil
    }
}
