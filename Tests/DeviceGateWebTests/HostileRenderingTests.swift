import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@testable import DeviceGateWeb
import Testing

/// Values that an escaper working on grapheme clusters lets out of their attribute or text
/// node (issue 10, item 1): combining marks after `"'<>&`, prepend marks (U+0600…U+0605)
/// before them, ZWJ sequences, bidi overrides. NUL-free, as FastCGI parameters are.
enum Hostile {
    static let values = [
        "\"\u{301}\u{600}>\u{600}<a href=//evil.example>Continue here",
        "\"\u{301}'\u{301}<\u{301}>\u{301}&\u{301}amp;\u{301}",
        "\u{600}\"\u{601}'\u{602}<\u{603}>\u{604}&\u{605}<form action=//evil>",
        "\u{1F469}\u{200D}\"\u{200D}<b>\u{200D}'\u{200D}\u{1F4BB}",
        "\u{202E}\"><img src=x>\u{202C}'&lt;",
        "</p></form><form action=\"//evil\"><input name=\"action\" value=\"approve\">",
        "{{> header}}{{{csrf_token}}}&#x3C;`x`",
        // A list item that closes its list and opens another: folded shapes (`StrictHTML.shape`
        // merges repeated siblings) would hide it, so the lists' tests compare every tag.
        "x</li><li>y</li></ul><ul><li>",
    ]
}

@Suite struct HostileRenderingTests {
    // MARK: Every template, every field

    static let pages = DefaultTemplates.all.map(\.name).filter { !DefaultTemplates.partials.contains($0) && $0 != "style.css" }

    /// The template's text with its partials, for `PageShapes`.
    static func text(_ template: String) -> String { DefaultTemplates.textWithPartials(template) }

    /// Every section present (two scopes) or every section absent.
    static func context(_ template: String, sectionsPresent: Bool, _ value: (String) -> String) -> [String: Any] {
        let text = text(template)
        return PageShapes.context(text, present: sectionsPresent ? PageShapes.fields(text).sections : [], scopes: 2, value)
    }

    static func marker(_ name: String) -> String { "zq\(name)qz" }

    /// Each token of the hostile rendering is the benign one with every marker replaced by the
    /// hostile value: the same elements and attributes, each value inside its own node.
    @Test(arguments: pages, Hostile.values)
    func everyTemplateKeepsEveryValueInItsNode(_ template: String, _ hostile: String) throws {
        let templates = try PageTemplates(directory: nil)
        for present in [true, false] {
            let benign = try StrictHTML.tokens(templates.render(template, Self.context(template, sectionsPresent: present, Self.marker)))
            let html = templates.render(template, Self.context(template, sectionsPresent: present) { _ in hostile })
            let tokens = try StrictHTML.tokens(html)
            #expect(StrictHTML.shape(tokens) == StrictHTML.shape(benign), "\(template): structure changed\n\(html)")
            try #require(tokens.count == benign.count, "\(template): \(tokens.count) tokens, benign \(benign.count)\n\(html)")
            var seen = 0
            for (got, want) in zip(tokens, benign) {
                let expected = Self.substitute(want, hostile)
                if expected != want { seen += 1 }
                #expect(got == expected, "\(template): \(got) is not \(expected)")
            }
            #expect(seen > 0, "\(template): no value rendered at all")
        }
    }

    static func substitute(_ token: StrictHTML.Token, _ hostile: String) -> StrictHTML.Token {
        func replace(_ text: String) -> String {
            var out = text
            while let start = out.range(of: "zq"), let end = out[start.upperBound...].range(of: "qz") {
                out.replaceSubrange(start.lowerBound..<end.upperBound, with: hostile)
            }
            return out
        }
        switch token {
        case .text(let text): return .text(replace(text))
        case let .start(name, attributes): return .start(name, attributes.map { ($0.name, replace($0.value)) })
        default: return token
        }
    }

    /// The shapes the fuzzer accepts are made from the same templates: a benign page has one.
    @Test func everyBenignPageHasAKnownShape() throws {
        let templates = try PageTemplates(directory: nil)
        let shapes = PageShapes.all(pages: Self.pages.map { ($0, Self.text($0)) }, render: templates.render)
        #expect(shapes.count > 20)
        for page in Self.pages {
            let html = templates.render(page, Self.context(page, sectionsPresent: true, Self.marker))
            #expect(shapes.contains(StrictHTML.shape(try StrictHTML.tokens(html))))
            let injected = html.replacingOccurrences(of: "</h1>", with: "</h1><a href=\"//evil.example\">x</a>")
            #expect(!shapes.contains(StrictHTML.shape(try StrictHTML.tokens(injected))))
        }
    }

    @Test func tripleMustacheAndAmpersandInAnOverrideAreEscapedOnce() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/message.mustache", "<p title=\"{{{heading}}}\">{{&text}}|{{text}}|{{uppercased(text)}}</p>")
        let templates = try PageTemplates(directory: temp.path)
        let html = templates.render("message", ["heading": "\"\u{301}>", "text": "a&b<\u{600}"])
        #expect(html == "<p title=\"&quot;\u{301}&gt;\">a&amp;b&lt;\u{600}|a&amp;b&lt;\u{600}|A&amp;B&lt;\u{600}</p>")
    }

    @Test(arguments: ["<input value={{x}}>", "<input value=  {{x}}>", "<a href=\n{{x}}>"])
    func overrideWithAnUnquotedAttributeValueIsRefused(_ text: String) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/message.mustache", text)
        #expect(throws: PageTemplates.LoadError.self) { _ = try PageTemplates(directory: temp.path) }
    }

    @Test func overrideParseErrorsKeepTheirLineNumber() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        try writeFile(temp.path + "/done.mustache", "ok\n{{#approved}}never closed")
        #expect { _ = try PageTemplates(directory: temp.path) } throws: { error in
            "\(error)".contains(temp.path + "/done.mustache:2:") || "\(error)".contains(temp.path + "/done.mustache:3:")
        }
    }

    @Test(arguments: [
        ("\"\u{301}", "&quot;\u{301}"), ("\u{600}<", "\u{600}&lt;"), ("\u{600}>", "\u{600}&gt;"), ("'\u{301}", "&#39;\u{301}"),
        ("&\u{301}", "&amp;\u{301}"), ("`", "&#96;"), ("a\u{1}b", "a\u{FFFD}b"), ("\u{202E}x", "\u{202E}x"), ("plain", "plain"),
    ])
    func escapingWorksOnScalarsNotGraphemes(_ input: String, _ expected: String) {
        #expect(HTMLEscaping.escape(input) == expected)
    }
}
