import DeviceFlow
import DeviceGateTesting
import Foundation
import Testing
import TokenSigning

/// A key ring over in-memory signing keys (`KeyFiles` passes the same conformance suite).
final class KeyFixture {
    let files: any SigningKeyStorage = MemorySigningKeys()
    let clock = ManualClock()
    init(_ algorithm: SigningKey.Algorithm = .rs256) throws {
        try KeyRing.ensureKey(files: files, algorithm: algorithm, now: clock.now())
    }
    func ring(lifetime: Int = 3600) -> KeyRing { KeyRing(files: files, maximumTokenLifetime: lifetime) }
}

func claims(_ token: String) throws -> [String: Any] {
    let part = String(token.split(separator: ".")[1])
    var b64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while b64.count % 4 != 0 { b64 += "=" }
    let data = try #require(Data(base64Encoded: b64))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

struct JWTTests {
    @Test(arguments: SigningKey.Algorithm.allCases)
    func signAndVerifyRoundTrip(algorithm: SigningKey.Algorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let token = try JWT.sign(payload: Array(#"{"sub":"alice"}"#.utf8), type: "JWT", key: key)
        let verified = try JWT.verify(token) { $0 == key.kid ? key.verifier : nil }
        #expect(verified.string("sub") == "alice")
        #expect(verified.kid == key.kid)
    }

    @Test func tamperedPayloadOrSignatureIsRejected() throws {
        let key = try SigningKey.generate(.rs256)
        let token = try JWT.sign(payload: Array(#"{"sub":"alice"}"#.utf8), type: "JWT", key: key)
        let parts = token.split(separator: ".").map(String.init)
        let forged = parts[0] + "." + Encoding.base64URL(Array(#"{"sub":"mallory"}"#.utf8)) + "." + parts[2]
        #expect(throws: JWT.VerificationError.self) { try JWT.verify(forged) { _ in key.verifier } }
        // A character in the middle: the last one also carries padding bits that a decoder may
        // ignore, so changing it does not always change the signature.
        var signature = Array(parts[2])
        signature[signature.count / 2] = signature[signature.count / 2] == "A" ? "B" : "A"
        let flipped = parts[0] + "." + parts[1] + "." + String(signature)
        #expect(throws: JWT.VerificationError.self) { try JWT.verify(flipped) { _ in key.verifier } }
    }

    @Test func algNoneAndAlgorithmConfusionAreRejected() throws {
        let key = try SigningKey.generate(.rs256)
        let none = Encoding.base64URL(Array(#"{"alg":"none","kid":"\#(key.kid)"}"#.utf8)) + "." + Encoding.base64URL(Array(#"{"sub":"x"}"#.utf8)) + "."
        #expect(throws: JWT.VerificationError.self) { try JWT.verify(none) { _ in key.verifier } }
        // An ES256 signature presented under an RS256 key's kid.
        let other = try SigningKey.generate(.es256)
        let confused = try JWT.sign(payload: Array(#"{"sub":"x"}"#.utf8), type: "JWT", key: other)
        #expect(throws: JWT.VerificationError.self) { try JWT.verify(confused) { _ in key.verifier } }
        #expect(throws: JWT.VerificationError.self) { try JWT.verify("a.b") { _ in key.verifier } }
        #expect(throws: JWT.VerificationError.self) { try JWT.verify("!!.??.**") { _ in key.verifier } }
    }

    @Test func pemRoundTripKeepsTheKid() throws {
        for algorithm in SigningKey.Algorithm.allCases {
            let key = try SigningKey.generate(algorithm)
            let reloaded = try SigningKey(pem: key.pemRepresentation, algorithm: algorithm, kid: nil)
            #expect(reloaded.kid == key.kid) // RFC 7638 thumbprint of the same public key
        }
    }
}

struct KeyRingTests {
    @Test func rotatedKeyStaysPublishedUntilItsTokensExpire() throws {
        let f = try KeyFixture()
        let ring = f.ring(lifetime: 3600)
        let first = try ring.activeKey(now: f.clock.now())
        f.clock.advance(seconds: 10)
        let second = try KeyRing.rotate(files: f.files, algorithm: .es256, now: f.clock.now(), maximumTokenLifetime: 3600)
        f.clock.advance(seconds: 2) // past the one-second reload check
        #expect(try ring.activeKey(now: f.clock.now()).kid == second.kid)
        #expect(Set(ring.publishedKeys(now: f.clock.now()).map(\.kid)) == [first.kid, second.kid])
        #expect(ring.verificationKey(kid: first.kid, now: f.clock.now()) != nil)
        f.clock.advance(seconds: 3600)
        #expect(ring.publishedKeys(now: f.clock.now()).map(\.kid) == [second.kid])
        #expect(ring.verificationKey(kid: first.kid, now: f.clock.now()) == nil)
        // A later rotation forgets keys whose publication window has passed.
        _ = try KeyRing.rotate(files: f.files, algorithm: .rs256, now: f.clock.now(), maximumTokenLifetime: 3600)
        #expect(try f.files.load().map(\.kid).contains(first.kid) == false)
        #expect(try f.files.load().count == 2)
    }
}

struct SignedTokenIssuerTests {
    static let users = ["alice": UserClaims(name: "Alice Example", email: "alice@example.com", emailVerified: true)]

    func issue(_ scope: [String], refresh: Bool = false) throws -> (IssuedTokens, KeyFixture) {
        let f = try KeyFixture()
        let issuer = SignedTokenIssuer(issuer: "https://auth.example.com/application/o/dg/", audience: "https://api.example.com",
                                       accessTokenLifetime: 600, idTokenLifetime: 300, keys: f.ring(), users: Self.users)
        let grant = TokenGrant(clientID: "tv", subject: "alice", scope: ScopeSet(scope), authTime: f.clock.now().adding(seconds: -30),
                               flowID: String(repeating: "a", count: 64), issueRefreshToken: refresh)
        return (try issuer.issue(grant, now: f.clock.now()), f)
    }

    @Test func accessTokenFollowsRFC9068() throws {
        let (tokens, f) = try issue(["openid"])
        let header = try JSONSerialization.jsonObject(with: Data(base64Encoded: String(tokens.accessToken.split(separator: ".")[0]).padded())!) as! [String: Any]
        #expect(header["typ"] as? String == "at+jwt")
        #expect(header["alg"] as? String == "RS256")
        let c = try claims(tokens.accessToken)
        #expect(c["iss"] as? String == "https://auth.example.com/application/o/dg/")
        #expect(c["aud"] as? String == "https://api.example.com")
        #expect(c["sub"] as? String == "alice")
        #expect(c["client_id"] as? String == "tv")
        #expect(c["scope"] as? String == "openid")
        #expect((c["exp"] as? Int) == Int(f.clock.now().seconds) + 600)
        #expect((c["auth_time"] as? Int) == Int(f.clock.now().seconds) - 30)
        #expect(c["jti"] as? String == tokens.accessTokenID)
        #expect(tokens.refreshToken == nil)
    }

    @Test func idTokenOnlyWithOpenIDAndClaimsByScope() throws {
        #expect(try issue(["email"]).0.idToken == nil)
        let plain = try claims(#require(try issue(["openid"]).0.idToken))
        #expect(plain["aud"] as? String == "tv")
        #expect(plain["email"] == nil && plain["name"] == nil)
        let full = try claims(#require(try issue(["openid", "email", "profile"]).0.idToken))
        #expect(full["email"] as? String == "alice@example.com")
        #expect(full["email_verified"] as? Bool == true)
        #expect(full["name"] as? String == "Alice Example")
        #expect(full["preferred_username"] as? String == "alice")
        #expect(full["auth_time"] != nil)
    }

    @Test func refreshTokenOnlyWhenGranted() throws {
        let (tokens, _) = try issue(["openid", "offline_access"], refresh: true)
        #expect(tokens.refreshToken?.count == 43)
        #expect(tokens.refreshTokenHash == tokens.refreshToken.map(Encoding.sha256Hex))
    }
}

extension String {
    func padded() -> String {
        var s = replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return s
    }
}
