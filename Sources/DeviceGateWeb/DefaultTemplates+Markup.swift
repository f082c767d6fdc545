import DeviceGateHTTP

extension DefaultTemplates {
    /// The page values that are messages filled in by `MessageCatalog.markup`, with the class
    /// of the one `<strong>` each holds: escaped text around an emphasised placeholder.
    package static let markupValues: [String: String] = [
        "lead": "client", "return_note": "return-host", "warning": "warning-strong", "signed_in_note": "user",
    ]

    /// A benign value for `name` with `text` in it: markup as the page builds it for the
    /// values of `markupValues`, nil for any other. For tests that list a page's shapes.
    package static func markupSample(_ name: String, _ text: String) -> Any? {
        markupValues[name].map { MarkupText(html: "<strong class=\"\($0)\">" + HTMLEscaping.escape(text) + "</strong>") }
    }
}
