/// The shape of user codes: RFC 8628 §6.1.
///
/// The default is eight characters of the base-20 alphabet `BCDFGHJKLMNPQRSTVWXZ` (no vowels,
/// so no words; no easily confused characters), shown as `XXXX-XXXX`: 20^8 ≈ 2^34.5 codes.
public struct UserCodeFormat: Sendable, Equatable {
    public enum Charset: String, Sendable, Equatable, CaseIterable {
        case base20
        case digits

        public var alphabet: [UInt8] {
            switch self {
            case .base20: return Array("BCDFGHJKLMNPQRSTVWXZ".utf8)
            case .digits: return Array("0123456789".utf8)
            }
        }
    }

    public var length: Int
    public var charset: Charset
    /// Characters per dash-separated group in the displayed form.
    public var groupSize: Int

    public init(length: Int = 8, charset: Charset = .base20, groupSize: Int = 4) {
        self.length = length
        self.charset = charset
        self.groupSize = groupSize
    }

    /// Bits of entropy in one code: length × log2(alphabet size).
    public var entropyBits: Double {
        Double(length) * log2Approx(Double(charset.alphabet.count))
    }

    private func log2Approx(_ x: Double) -> Double {
        // log2 without Foundation: exact enough for reporting.
        var value = x, result = 0.0
        while value >= 2 { value /= 2; result += 1 }
        // Series for the fractional part: log2(v) for 1 <= v < 2 by repeated squaring.
        var fraction = 0.5
        for _ in 0..<30 {
            value *= value
            if value >= 2 { value /= 2; result += fraction }
            fraction /= 2
        }
        return result
    }

    /// Draws a fresh code in canonical form (no separators), uniformly from the alphabet.
    public func generate(using random: some SecureRandom) -> String {
        let alphabet = charset.alphabet
        var out: [UInt8] = []
        out.reserveCapacity(length)
        for _ in 0..<length { out.append(alphabet[random.uniform(alphabet.count)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The form shown to people: canonical code split into groups by dashes (`WDJB-MJHT`).
    public func display(_ canonical: String) -> String {
        var out: [UInt8] = []
        for (i, byte) in canonical.utf8.enumerated() {
            if i > 0 && groupSize > 0 && i % groupSize == 0 { out.append(UInt8(ascii: "-")) }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Normalizes what a person typed, RFC 8628 §6.1: case-insensitive, dashes and whitespace
    /// ignored. Returns nil when anything else is left or the length is wrong, so a typo is
    /// rejected without a store lookup.
    public func normalize(_ input: String) -> String? {
        let alphabet = charset.alphabet
        var out: [UInt8] = []
        out.reserveCapacity(length)
        for var byte in input.utf8 {
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { continue }
            if byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") { byte -= 32 }
            guard alphabet.contains(byte) else { return nil }
            out.append(byte)
            if out.count > length { return nil }
        }
        guard out.count == length else { return nil }
        return String(decoding: out, as: UTF8.self)
    }
}
