/// A QR symbol as a square of modules, independent of the encoder that made it.
public struct QRMatrix: Equatable, Sendable {
    public let width: Int
    /// Row-major, `true` for a dark module.
    public let dark: [Bool]

    public init?(width: Int, dark: [Bool]) {
        guard width > 0, dark.count == width * width else { return nil }
        self.width = width
        self.dark = dark
    }

    /// From libqrencode's `QRcode.data`: one byte per module, row-major, and "the least
    /// significant bit: 1=black/0=white" (qrencode.h).
    public init?(width: Int, libqrencodeModules bytes: [UInt8]) {
        self.init(width: width, dark: bytes.map { $0 & 1 == 1 })
    }

    /// Modules outside the symbol are light: the quiet zone.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<width).contains(x), (0..<width).contains(y) else { return false }
        return dark[y * width + x]
    }

    /// ISO/IEC 18004 §6.3.8: the quiet zone is four modules wide on every side.
    public static let quietZone = 4
}
