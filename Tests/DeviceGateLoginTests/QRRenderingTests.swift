import DeviceGateLogin
import Testing

/// The SVG and terminal drawings of a QR matrix. (That libqrencode's matrix decodes to the text
/// is checked end to end by Tests/Integration/test_login_tool.py with zbarimg.)
@Suite struct QRRenderingTests {
    /// 3×3, dark where x == y or in the top row: rows "###", ".#.", "..#".
    static let matrix = QRMatrix(width: 3, dark: [true, true, true, false, true, false, false, false, true])!

    @Test func libqrencodeBitZeroIsDark() {
        let m = QRMatrix(width: 2, libqrencodeModules: [0xC1, 0xC0, 0x03, 0x02])!
        #expect(m.dark == [true, false, true, false])
        #expect(QRMatrix(width: 2, libqrencodeModules: [1, 1, 1]) == nil)
    }

    @Test func svgDrawsEachRunOnceInsideTheQuietZone() {
        let svg = Self.matrix.svg(scale: 10)
        // 3 modules + 2×4 quiet zone = 11.
        #expect(svg.contains(#"width="110" height="110" viewBox="0 0 11 11""#))
        #expect(svg.contains(##"<rect width="11" height="11" fill="#ffffff"/>"##))
        #expect(svg.contains(#"d="M4 4h3v1h-3zM5 5h1v1h-1zM6 6h1v1h-1z""#))
    }

    @Test func svgOfAnAllLightMatrixHasNoDarkModules() {
        let svg = QRMatrix(width: 2, dark: [false, false, false, false])!.svg()
        #expect(svg.contains(#"d="""#))
    }

    @Test func terminalDrawsLightAsBlocksTwoRowsPerLine() {
        let lines = Self.matrix.terminalLines().split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        // 11 rows of modules → 6 lines of 11 characters.
        #expect(lines.count == 6)
        #expect(lines.allSatisfy { $0.count == 11 })
        // Line 2 holds module rows 0 and 1 (y = 0, 1): x = 4 is dark above and light below → ▄;
        // x = 5 is dark in both → space; x = 6 dark above, light below → ▄.
        let line = Array(lines[2])
        #expect(line[3] == "\u{2588}" && line[4] == "\u{2584}" && line[5] == " " && line[6] == "\u{2584}")
        // Line 3 holds rows 2 and the first quiet-zone row: x = 6 is dark above, light below.
        #expect(Array(lines[3])[6] == "\u{2584}" && Array(lines[3])[4] == "\u{2588}")
        // The quiet zone's first line is all light.
        #expect(lines[0].allSatisfy { $0 == "\u{2588}" })
    }
}
