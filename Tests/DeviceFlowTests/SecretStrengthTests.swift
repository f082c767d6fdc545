import DeviceFlow
import Testing

/// `devicegate hash-secret`'s estimate (RFC 6749 §10.10: at most 2^-128 to guess).
struct SecretStrengthTests {
    @Test(arguments: [
        // What --generate prints (base64url of 32 random bytes) and 128-bit random secrets.
        ("ZsG3q9Kx1f_2wLrT8vYp0aB7mNcE4hJdQ5uXiS6oVkE", true),
        ("3f9a1c07d2b84e6f0a5c9e1b7d3f2a60", true),
        ("Xq7-pL2vR9wT4kZ8mB3nC6yH5jF1", true),
        // Short, single-class, repeated or sequential secrets.
        ("hunter2", false), ("correcthorsebatterystaple", false), ("Tr0ub4dor&3", false),
        (String(repeating: "a", count: 200), false), ("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", false),
        (String(repeating: "7", count: 60), false), ("", false),
    ])
    func secretsUnder128BitsAreTold(_ secret: String, _ strong: Bool) {
        #expect((SecretStrength.estimatedBits(secret) >= Double(SecretStrength.minimumBits)) == strong, "\(SecretStrength.estimatedBits(secret)) bits")
    }

    @Test func theEstimateIsLengthTimesTheLogOfThePool() {
        #expect(abs(SecretStrength.estimatedBits("aqZ9") - 4 * 5.954) < 0.01)  // pool 26+26+10 = 62
        #expect(abs(SecretStrength.estimatedBits("0369") - 4 * 3.3219) < 0.01)  // digits only
    }
}
