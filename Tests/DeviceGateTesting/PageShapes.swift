import DeviceGateWeb

/// The element and attribute structures (`StrictHTML.shape`) a page template can render to,
/// with any values: each of its sections present or absent (a list present with one item, as
/// `shape` folds repeats). A page whose shape is none of these holds an element or attribute
/// that no benign rendering has. Used by the fuzzer's `app` property and the hostile-input tests.
public enum PageShapes {
    /// The names a template uses, with its partials' text appended: (variables, sections).
    public static func fields(_ text: String) -> (variables: Set<String>, sections: Set<String>) {
        var variables: Set<String> = [], sections: Set<String> = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            let sigil = rest.first
            let body = rest.drop { "#^/&{>!% ".contains($0) }
            let name = String(body.prefix { $0.isLetter || $0 == "_" })
            if name.isEmpty || sigil == "/" || sigil == ">" || sigil == "!" || sigil == "%" { continue }
            if sigil == "#" || sigil == "^" { sections.insert(name) } else { variables.insert(name) }
        }
        return (variables.subtracting(sections), sections)
    }

    /// A context for `text` where every variable is `value(name)` and the sections named in
    /// `present` are there (`scopes` as `count` items, `approved`/`prefilled` as true). The
    /// values a page builds from messages (`DefaultTemplates.markupValues`) are markup around
    /// `value(name)`, as the page makes them.
    public static func context(_ text: String, present: Set<String>, scopes count: Int = 1,
                               _ value: (String) -> String) -> [String: Any] {
        let (variables, sections) = fields(text)
        var context: [String: Any] = [:]
        for name in variables { context[name] = DefaultTemplates.markupSample(name, value(name)) ?? value(name) }
        for name in sections where present.contains(name) {
            switch name {
            case "scopes":
                context[name] = Array(repeating: ["name": value("scope.name"), "description": value("scope.description")], count: count)
            case "approved", "prefilled": context[name] = true
            default: context[name] = DefaultTemplates.markupSample(name, value(name)) ?? value(name)
            }
        }
        return context
    }

    /// Every shape of every page: `pages` are (name, text with partials), `render` renders one.
    public static func all(pages: [(name: String, text: String)], render: (String, [String: Any]) -> String) -> Set<[String]> {
        var shapes: Set<[String]> = []
        for (name, text) in pages {
            let sections = Array(fields(text).sections).sorted()
            for mask in 0..<(1 << sections.count) {
                let present = Set(sections.indices.filter { mask & (1 << $0) != 0 }.map { sections[$0] })
                let html = render(name, context(text, present: present) { "x" + $0 })
                if let tokens = try? StrictHTML.tokens(html) { shapes.insert(StrictHTML.shape(tokens)) }
            }
        }
        return shapes
    }
}
