import Crypto
import _CryptoExtras
import DeviceFlow
import Foundation

/// A JWS signing key: RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) or ES256 (ECDSA
/// P-256 with SHA-256, RFC 7518 §3.4). All cryptography is swift-crypto's.
public struct SigningKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case rs256 = "RS256"
        case es256 = "ES256"
    }

    enum Material: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    public let kid: String
    public let algorithm: Algorithm
    let material: Material

    /// Generates a new key: RSA 2048 or P-256. The kid is the RFC 7638 thumbprint of the
    /// public JWK, so it is stable and collision-free.
    public static func generate(_ algorithm: Algorithm) throws -> SigningKey {
        let material: Material
        switch algorithm {
        case .rs256: material = .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        case .es256: material = .p256(P256.Signing.PrivateKey())
        }
        return try SigningKey(material: material, algorithm: algorithm, kid: nil)
    }

    public init(pem: String, algorithm: Algorithm, kid: String?) throws {
        let material: Material
        switch algorithm {
        case .rs256: material = .rsa(try _RSA.Signing.PrivateKey(pemRepresentation: pem))
        case .es256: material = .p256(try P256.Signing.PrivateKey(pemRepresentation: pem))
        }
        try self.init(material: material, algorithm: algorithm, kid: kid)
    }

    init(material: Material, algorithm: Algorithm, kid: String?) throws {
        self.material = material
        self.algorithm = algorithm
        self.kid = try kid ?? Self.thumbprint(Self.publicJWKFields(material))
    }

    public var pemRepresentation: String {
        switch material {
        case .rsa(let key): return key.pemRepresentation
        case .p256(let key): return key.pemRepresentation
        }
    }

    /// The JWS signature over `signingInput` (RFC 7515 §5.1).
    public func sign(_ signingInput: [UInt8]) throws -> [UInt8] {
        switch material {
        case .rsa(let key):
            return Array(try key.signature(for: SHA256.hash(data: signingInput), padding: .insecurePKCS1v1_5).rawRepresentation)
        case .p256(let key):
            return Array(try key.signature(for: SHA256.hash(data: signingInput)).rawRepresentation)
        }
    }

    public var verifier: VerificationKey {
        switch material {
        case .rsa(let key): return VerificationKey(kid: kid, algorithm: algorithm, key: .rsa(key.publicKey))
        case .p256(let key): return VerificationKey(kid: kid, algorithm: algorithm, key: .p256(key.publicKey))
        }
    }

    static func publicJWKFields(_ material: Material) throws -> [(String, String)] {
        switch material {
        case .rsa(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            return [("e", Encoding.base64URL(primitives.publicExponent)), ("kty", "RSA"), ("n", Encoding.base64URL(primitives.modulus))]
        case .p256(let key):
            let raw = Array(key.publicKey.rawRepresentation)
            return [("crv", "P-256"), ("kty", "EC"), ("x", Encoding.base64URL(raw[0..<32])), ("y", Encoding.base64URL(raw[32..<64]))]
        }
    }

    /// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
    static func thumbprint(_ fields: [(String, String)]) -> String {
        let json = "{" + fields.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
        return Encoding.base64URL(SHA256.hash(data: Array(json.utf8)))
    }
}

/// The public half of a signing key: verifies signatures and renders the JWK (RFC 7517).
public struct VerificationKey: Sendable {
    enum Key: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    public let kid: String
    public let algorithm: SigningKey.Algorithm
    let key: Key

    public func isValidSignature(_ signature: [UInt8], for signingInput: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: signingInput)
        switch key {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: digest)
        }
    }

    /// The JWK for the JWKS document: `kty`, key members, `kid`, `use: sig`, `alg`.
    public func jwkFields() throws -> [(String, String)] {
        var fields: [(String, String)]
        switch key {
        case .rsa(let key):
            let primitives = try key.getKeyPrimitives()
            fields = [("kty", "RSA"), ("n", Encoding.base64URL(primitives.modulus)), ("e", Encoding.base64URL(primitives.publicExponent))]
        case .p256(let key):
            let raw = Array(key.rawRepresentation)
            fields = [("kty", "EC"), ("crv", "P-256"), ("x", Encoding.base64URL(raw[0..<32])), ("y", Encoding.base64URL(raw[32..<64]))]
        }
        return fields + [("kid", kid), ("use", "sig"), ("alg", algorithm.rawValue)]
    }
}
