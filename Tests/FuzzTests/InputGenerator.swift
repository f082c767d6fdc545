import DeviceGateTesting

/// Seeded, deterministic inputs for the property tests: soups of bytes and tokens that
/// matter to the parsers, and mutations of structured inputs, in the spirit of what libFuzzer
/// does (without its coverage feedback).
struct InputGenerator {
    let random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    static let tokens: [[UInt8]] = [
        "%", "%2", "%zz", "%41", "%e2%82%ac", "%C3", "%C3%28", "%00", "%ED%A0%80", "+", "&", "=", " ", "  ", "\t", "-", ";", ",",
        ":", "\"", "\\", "/", "//", "<script>", "é", "😀", "\u{301}", "\u{600}", "\r\n", "BCDF", "wdjb", "MJHT", "0123456789",
        "Basic ", "Bearer ", "openid", "client_id=", "__Host-devicegate_csrf=", "end\n", "\n",
    ].map { Array($0.utf8) } + [[0x00], [0xFF], [0xC3], [0xE2, 0x82], [0x80]]

    func int(_ upperBound: Int) -> Int { upperBound <= 0 ? 0 : random.uniform(upperBound) }
    func chance(_ percent: Int) -> Bool { int(100) < percent }
    func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// A mix of random bytes, printable ASCII and tokens.
    func soup(maxParts: Int = 24) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<int(maxParts + 1) {
            switch int(4) {
            case 0: out += random.bytes(1 + int(4))
            case 1: out += (0..<1 + int(8)).map { _ in UInt8(0x20 + int(0x5F)) }
            default: out += pick(Self.tokens)
            }
        }
        return out
    }

    /// `count` edits of `input`: flip a bit, insert a token or byte, delete or duplicate a range.
    func mutate(_ input: [UInt8], count: Int = 3) -> [UInt8] {
        var bytes = input
        for _ in 0..<count {
            let at = int(bytes.count + 1)
            switch int(5) {
            case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] ^= UInt8(1 << int(8))
            case 1: bytes.insert(contentsOf: pick(Self.tokens), at: at)
            case 2: bytes.insert(UInt8(int(256)), at: at)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, at + 1 + int(8))
                bytes.removeSubrange(min(at, bytes.count - 1)..<end)
            case 4 where at < bytes.count:
                let end = min(bytes.count, at + 1 + int(16))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default: bytes += pick(Self.tokens)
            }
        }
        return bytes
    }

    /// A string of up to `maxLength` characters from `alphabet`.
    func string(_ alphabet: [String], maxLength: Int) -> String {
        (0..<int(maxLength + 1)).map { _ in pick(alphabet) }.joined()
    }
}
