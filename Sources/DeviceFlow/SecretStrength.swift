/// A conservative estimate of how many bits of entropy a client secret holds, for
/// `devicegate hash-secret`: RFC 6749 §10.10 asks that the probability of guessing a
/// credential be at most 2^-128 (and should be 2^-160).
///
/// Each character is worth log2 of the pool of the classes present (26 lowercase, 26
/// uppercase, 10 digits, 33 other printable ASCII, and 128 for anything beyond ASCII), and a
/// character that repeats the one before it or steps one from it (`aaaa`, `abcd`, `4321`) is
/// worth nothing. This overrates dictionary words, so it can only refuse, never vouch.
public enum SecretStrength {
    /// RFC 6749 §10.10's floor.
    public static let minimumBits = 128

    public static func estimatedBits(_ secret: String) -> Double {
        let scalars = Array(secret.unicodeScalars.map(\.value))
        var pool = 0
        if scalars.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) { pool += 26 }
        if scalars.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { pool += 26 }
        if scalars.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) { pool += 10 }
        if scalars.contains(where: { $0 >= 0x20 && $0 < 0x7F && !isAlphanumeric($0) }) { pool += 33 }
        if scalars.contains(where: { $0 >= 0x80 }) { pool += 128 }
        guard pool > 1 else { return 0 }
        var counted = 0
        for (index, scalar) in scalars.enumerated() {
            if index > 0 {
                let step = Int64(scalar) - Int64(scalars[index - 1])
                if (-1...1).contains(step) { continue }
            }
            counted += 1
        }
        return Double(counted) * log2(Double(pool))
    }

    private static func isAlphanumeric(_ v: UInt32) -> Bool {
        (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
    }

    /// log2 without Foundation, exact enough for an estimate (pools are at most 223).
    static func log2(_ x: Double) -> Double {
        var value = x, whole = 0.0
        while value >= 2 { value /= 2; whole += 1 }
        // log2(value) for value in [1, 2): ln(value) / ln 2 by the atanh series.
        let t = (value - 1) / (value + 1)
        var term = t, sum = 0.0, n = 1.0
        for _ in 0..<30 { sum += term / n; term *= t * t; n += 2 }
        return whole + 2 * sum / 0.6931471805599453
    }
}
