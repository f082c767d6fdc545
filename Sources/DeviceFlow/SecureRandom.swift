/// The randomness every code and secret comes from.
///
/// Production uses `SystemRandomNumberGenerator`, which on Linux reads getrandom(2), the
/// kernel CSPRNG. Tests inject a seeded generator to make codes predictable.
public protocol SecureRandom: Sendable {
    func bytes(_ count: Int) -> [UInt8]
    /// A uniform integer in `0..<upperBound`, without modulo bias.
    func uniform(_ upperBound: Int) -> Int
}

public struct SystemSecureRandom: SecureRandom {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = generator.next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }

    public func uniform(_ upperBound: Int) -> Int {
        var generator = SystemRandomNumberGenerator()
        return Int.random(in: 0..<upperBound, using: &generator)
    }
}
