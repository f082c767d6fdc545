import DeviceFlow
import TokenSigning

/// `AccessTokenValidator` (and through it `JWT.verify`) on bearer tokens nobody signed: what
/// the nginx `auth_request` gateway, userinfo and introspection hand it from any client.
///
/// Input: a JOSE header, a NUL, claims, a NUL, a signature. `{kid}` in the header names the
/// app's real signing key, so the fuzzer gets past the key lookup to the algorithm and
/// signature checks.
public enum BearerTokenProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        try check(data, in: AppHarness.shared())
    }

    /// The tokens go to the validator of `harness`'s app with embedded sign-in (JWT access tokens).
    public static func check(_ data: [UInt8], in harness: AppHarness) throws(PropertyViolation) {
        let instance = harness.embedded
        // The bytes themselves as a token (an opaque one, or a compact JWS if they hold dots).
        try refused(String(decoding: data, as: UTF8.self), instance)

        // A compact JWS assembled from the three parts.
        let parts = fields(data, separator: 0, count: 3)
        let kid = (try? instance.keys.activeKey(now: instance.clock.now()).kid) ?? ""
        let header = fill(Array(parts[0]), ["kid": kid])
        let token = [header, Array(parts[1]), Array(parts[2])].map(Encoding.base64URL).joined(separator: ".")
        try refused(token, instance)

        // A real token with one character of its signed part changed.
        let real: String
        do { real = try instance.sampleAccessToken() } catch { throw PropertyViolation("cannot mint a token: \(error)") }
        var bytes = Array(real.utf8)
        let signedPart = bytes.lastIndex(of: UInt8(ascii: ".")) ?? bytes.count
        guard signedPart > 0 else { throw PropertyViolation("the app issued \(quoted(real)), not a JWS") }
        let at = Int(seed(data) % UInt64(signedPart))
        let replacement = data.first ?? UInt8(ascii: "A")
        guard bytes[at] != replacement else { return }
        bytes[at] = replacement
        try refused(String(decoding: bytes, as: UTF8.self), instance)
    }

    private static func refused(_ token: String, _ instance: AppHarness.Instance) throws(PropertyViolation) {
        switch instance.validator.validate(token, now: instance.clock.now()) {
        case .success(let validated): throw PropertyViolation("\(quoted(token)) was accepted as \(validated)")
        case .failure(.invalid): break
        case .failure(let other): throw PropertyViolation("\(quoted(token)) was refused as \(other), not as invalid")
        }
    }
}
