/// Text from the server made safe for one line on a terminal.
public enum Text {
    /// Control characters (including ESC, so no terminal escape sequences) become `?`, and the
    /// text is cut to `limit` characters: a hostile server cannot redraw the terminal.
    public static func printable(_ text: String, limit: Int = 200) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || scalar.properties.generalCategory == .format && scalar.value != 0x200D
            out.unicodeScalars.append(isControl ? "?" : scalar)
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return out
    }

    /// `printable` in double quotes.
    public static func quoted(_ text: String) -> String { "\"" + printable(text) + "\"" }
}
