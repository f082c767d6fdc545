extension QRMatrix {
    /// An SVG image of the symbol: a white square with the quiet zone and one black path
    /// drawing each horizontal run of dark modules, `scale` pixels per module. Only numbers go
    /// into the markup, so nothing from the server can reach it.
    public func svg(scale: Int = 8) -> String {
        let size = width + 2 * Self.quietZone
        var path = ""
        for y in 0..<width {
            var x = 0
            while x < width {
                guard isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + Self.quietZone) \(y + Self.quietZone)h\(run)v1h-\(run)z"
                x += run
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(size * scale)" height="\(size * scale)" \
            viewBox="0 0 \(size) \(size)" shape-rendering="crispEdges">
            <rect width="\(size)" height="\(size)" fill="#ffffff"/>
            <path fill="#000000" d="\(path)"/>
            </svg>

            """
    }
}
