import DeviceGateHTTP
import Mustache

/// How a value reaches a template: through `PageTemplates.render` only, which turns every
/// string of the context into an `EscapedText`, escaped once by `HTMLEscaping.escape`.
///
/// swift-mustache escapes `{{name}}` by `Character` (grapheme cluster), which lets `"` + U+0301
/// and U+0600 + `<` through (issue 10, item 1). So every template, built-in or an operator's
/// override, is parsed with the content type `DEVICEGATE` (prefixed as a pragma line), whose
/// escaping is the identity: the value arrives already escaped by the one function that works
/// on bytes. `{{name}}`, `{{{name}}}` and `{{&name}}` then all write the same escaped text, so
/// an override cannot open a hole for request values with a triple mustache, and nothing is
/// escaped twice. (An override that switches to `{{%CONTENT_TYPE: HTML}}` gets double escaping:
/// ugly, still safe.)
struct EscapedText: MustacheCustomRenderable, MustacheParent, MustacheTransformable, Sendable {
    /// The value as given, unescaped.
    let text: String

    var renderText: String { HTMLEscaping.escape(text) }
    var isNull: Bool { false }
    /// A section over a value pushes it on the stack: it has no children, so names inside
    /// still resolve to the page's values (never to this type's stored property).
    func child(named: String) -> Any? { nil }
    /// `{{uppercased(name)}}` and the other string transforms work on the text, still escaped.
    func transform(_ name: String) -> Any? {
        PageTemplates.escaped(text.transform(name))
    }
}

extension MarkupText: MustacheCustomRenderable, MustacheParent {
    /// Escaped piece by piece when it was built (`MessageCatalog.markup`).
    var renderText: String { html }
    var isNull: Bool { html.isEmpty }
    func child(named: String) -> Any? { nil }
}

/// The content type every template renders in: values are already escaped.
struct PreEscapedContentType: MustacheContentType {
    static let name = "DEVICEGATE"
    func escapeText(_ text: String) -> String { text }
}

extension PageTemplates {
    /// The first line of every template: `{{% CONTENT_TYPE: DEVICEGATE }}` stands alone on its
    /// line, so it renders as nothing; parse errors are reported one line up.
    static let pragma = "{{% CONTENT_TYPE: \(PreEscapedContentType.name) }}\n"

    static let registerContentType: Void = {
        MustacheContentTypes.register(PreEscapedContentType(), named: PreEscapedContentType.name)
    }()

    /// The context with every string (at any depth) an `EscapedText`; booleans stay booleans
    /// so sections work, anything else is rendered as its description, escaped.
    static func escaped(_ value: Any?) -> Any? {
        switch value {
        case nil: return nil
        case let text as String: return EscapedText(text: text)
        case let text as Substring: return EscapedText(text: String(text))
        case let flag as Bool: return flag
        case let already as EscapedText: return already
        case let markup as MarkupText: return markup
        case let dictionary as [String: Any]: return dictionary.compactMapValues { escaped($0) }
        case let array as [Any]: return array.compactMap { escaped($0) }
        case let other?: return EscapedText(text: String(describing: other))
        }
    }
}
