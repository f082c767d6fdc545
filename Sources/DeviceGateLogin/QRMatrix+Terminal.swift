extension QRMatrix {
    /// The symbol for a terminal, two module rows per text line with Unicode half blocks.
    ///
    /// Terminals are usually light text on a dark background, so the *light* modules (and the
    /// quiet zone) are drawn as the text colour and the dark modules are left as background: the
    /// phone then reads dark-on-light as the standard asks. Each line ends with `\n`.
    public func terminalLines() -> String {
        let zone = Self.quietZone
        let range = -zone..<(width + zone)
        var out = ""
        var y = -zone
        while y < width + zone {
            for x in range {
                let top = !isDark(x: x, y: y)
                let bottom = y + 1 < width + zone ? !isDark(x: x, y: y + 1) : false
                switch (top, bottom) {
                case (true, true): out += "\u{2588}"   // █ full block
                case (true, false): out += "\u{2580}"  // ▀ upper half
                case (false, true): out += "\u{2584}"  // ▄ lower half
                case (false, false): out += " "
                }
            }
            out += "\n"
            y += 2
        }
        return out
    }
}
