import DeviceFlow
import Foundation

/// Compact JWS (RFC 7515 §7.1) for JWTs (RFC 7519): sign with the active key, verify against
/// the published ones.
public enum JWT {
    /// Builds `base64url(header).base64url(payload).base64url(signature)`.
    /// `payload` is a finished JSON object.
    public static func sign(payload: [UInt8], type: String, key: SigningKey) throws -> String {
        let header = "{\"alg\":\"\(key.algorithm.rawValue)\",\"kid\":\"\(key.kid)\",\"typ\":\"\(type)\"}"
        let signingInput = Encoding.base64URL(Array(header.utf8)) + "." + Encoding.base64URL(payload)
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Encoding.base64URL(signature)
    }

    public struct VerificationError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// A verified token's header and claims.
    public struct Verified: @unchecked Sendable {
        public var type: String?
        public var kid: String
        public var claims: [String: Any]

        public func string(_ name: String) -> String? { claims[name] as? String }
        /// A claim that is a string or a non-empty array of strings (RFC 7519 §4.1.3 `aud`).
        public func strings(_ name: String) -> [String]? {
            if let one = claims[name] as? String { return [one] }
            guard let many = claims[name] as? [Any], !many.isEmpty else { return nil }
            let texts = many.compactMap { $0 as? String }
            return texts.count == many.count ? texts : nil
        }
        public func int(_ name: String) -> Int64? {
            if let n = claims[name] as? NSNumber { return n.int64Value }
            return nil
        }
    }

    /// Verifies the signature with the key named by `kid`, and that `alg` is the key's own
    /// algorithm (never `none`, never a confused algorithm: RFC 8725 §2.1, §3.1).
    public static func verify(_ token: String, keys: (String) -> VerificationKey?) throws(VerificationError) -> Verified {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count < 16_384 else { throw VerificationError(description: "not a compact JWS") }
        guard let headerBytes = base64URLDecode(parts[0]), let payloadBytes = base64URLDecode(parts[1]),
              let signature = base64URLDecode(parts[2]) else { throw VerificationError(description: "bad base64url") }
        guard let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
              let alg = header["alg"] as? String, let kid = header["kid"] as? String else {
            throw VerificationError(description: "bad JOSE header")
        }
        guard let key = keys(kid) else { throw VerificationError(description: "unknown kid") }
        guard alg == key.algorithm.rawValue else { throw VerificationError(description: "alg does not match the key") }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw VerificationError(description: "bad signature") }
        guard let claims = (try? JSONSerialization.jsonObject(with: Data(payloadBytes))) as? [String: Any] else {
            throw VerificationError(description: "claims are not a JSON object")
        }
        return Verified(type: header["typ"] as? String, kid: kid, claims: claims)
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !s.contains("=") else { return nil }
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
