import DeviceFlow
import DeviceGateTesting

/// `UserCodeFormat`: what a person types, normalised per RFC 8628 §6.1.
public enum UserCodeProperties {
    /// The default, a digits format and two odd groupings.
    static let formats = [
        UserCodeFormat(),
        UserCodeFormat(length: 9, charset: .digits, groupSize: 3),
        UserCodeFormat(length: 6, charset: .base20, groupSize: 0),
        UserCodeFormat(length: 5, charset: .base20, groupSize: 2),
    ]

    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        // Typed text arrives as a String (form decoding has validated the UTF-8).
        let typed = String(decoding: data, as: UTF8.self)
        for format in formats {
            try normalization(typed, format)
            try generation(seed: seed(data), format)
        }
    }

    /// RFC 8628 §6.1: case, dashes and whitespace do not matter; anything else outside the
    /// alphabet, or the wrong length, is refused.
    static func normalization(_ typed: String, _ format: UserCodeFormat) throws(PropertyViolation) {
        let normalized = format.normalize(typed)
        let significant = typed.utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            .map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
        let acceptable = significant.count == format.length && significant.allSatisfy(format.charset.alphabet.contains)
        try require((normalized != nil) == acceptable,
                    "\(format): normalize(\(quoted(typed))) = \(String(describing: normalized)), expected \(acceptable ? "acceptance" : "refusal")")
        guard let code = normalized else { return }
        try canonical(code, format, typed: typed)
        try require(Array(code.utf8) == significant, "\(format): normalize(\(quoted(typed))) = \(code), not the typed letters")
    }

    /// A canonical code has the format's length and alphabet, and normalising it again, its
    /// displayed form, or that form in lowercase with spaces around, gives it back.
    static func canonical(_ code: String, _ format: UserCodeFormat, typed: String) throws(PropertyViolation) {
        try require(code.utf8.count == format.length && code.utf8.allSatisfy(format.charset.alphabet.contains),
                    "\(format): \(quoted(typed)) normalised to \(quoted(code)), outside the alphabet or length")
        try require(format.normalize(code) == code, "\(format): normalize is not idempotent on \(quoted(code))")
        let shown = format.display(code)
        try require(format.normalize(shown) == code, "\(format): normalize(display(\(code))) = \(String(describing: format.normalize(shown)))")
        try require(format.normalize(" \t" + shown.lowercased() + " ") == code, "\(format): lowercase \(shown) does not normalise to \(code)")
        let dashes = shown.utf8.count - code.utf8.count
        let groups = format.groupSize > 0 ? (format.length - 1) / format.groupSize : 0
        try require(dashes == groups, "\(format): display(\(code)) = \(shown) has \(dashes) dashes, expected \(groups)")
    }

    /// Every generated code is canonical.
    static func generation(seed: UInt64, _ format: UserCodeFormat) throws(PropertyViolation) {
        let code = format.generate(using: SeededRandom(seed: seed))
        try canonical(code, format, typed: "generate(seed: \(seed))")
    }
}
