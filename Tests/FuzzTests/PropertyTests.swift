import DeviceFlow
import DeviceGateFuzzing
import DeviceGateTesting
import Testing

/// The fuzz targets' properties over a few thousand seeded inputs each: random soups,
/// structured inputs, and mutations of the seed corpus. Deterministic (fixed seeds), so a
/// failure reproduces; the message holds the input.
struct PropertyTests {
    /// Runs `target` over `inputs`; reports the first few violations with their inputs in hex.
    static func expectHolds(_ target: FuzzTarget, _ inputs: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) {
        var failures: [String] = []
        for input in inputs {
            do { try target.run(input) } catch {
                failures.append("input \(input.map { String($0, radix: 16) }.joined(separator: " ")): \(error)")
                if failures.count == 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(target.rawValue): \(failures.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    static func seeds(_ target: FuzzTarget) -> [[UInt8]] {
        CorpusTests.files(target).compactMap(InputFiles.read)
    }

    /// A third soups, a third structured, a third mutated seeds.
    static func inputs(_ target: FuzzTarget, count: Int, seed: UInt64, structured: (InputGenerator) -> [UInt8]) -> [[UInt8]] {
        let g = InputGenerator(seed: seed)
        let corpus = seeds(target)
        return (0..<count).map { i in
            switch i % 3 {
            case 0: return g.soup()
            case 1: return g.chance(30) ? g.mutate(structured(g), count: 1) : structured(g)
            default: return g.mutate(corpus.isEmpty ? [] : g.pick(corpus), count: 1 + g.int(4))
            }
        }
    }

    static let textAlphabet = ["a", "Z", "0", " ", "+", "%", "&", "=", "é", "😀", "\u{0}", "\n", "~", "*", ":", "/"]

    @Test func fastCGIBodies() {
        Self.expectHolds(.fastcgi, Self.inputs(.fastcgi, count: 3000, seed: 10) { g in
            let body = g.soup(maxParts: 12)
            let length = g.pick(["", "-1", "0", "+\(body.count)", "\(body.count)", "\(g.int(body.count + 1))", "\(body.count + 1 + g.int(9))",
                                 "9223372036854775808", "1e3", " 5"])
            let limit = g.pick(["", "\(g.int(64))", "\(body.count)", "\(max(0, body.count - 1))"])
            return Array(length.utf8) + [0] + Array(limit.utf8) + [0] + (0..<g.int(4)).map { _ in UInt8(1 + g.int(20)) } + [0] + body
        })
    }

    @Test func formDecoding() {
        Self.expectHolds(.form, Self.inputs(.form, count: 4000, seed: 1) { g in
            let pairs = (0..<g.int(6)).map { _ in (g.string(Self.textAlphabet, maxLength: 8), g.string(Self.textAlphabet, maxLength: 12)) }
            var body: [UInt8] = []
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { body += g.chance(20) ? Array("&&".utf8) : [UInt8(ascii: "&")] }
                body += percentEncoded(key, g) + [UInt8(ascii: "=")] + percentEncoded(value, g)
            }
            return body
        })
    }

    @Test func authorizationRequests() {
        let names = ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "prompt",
                     "max_age", "nonce", "response_mode", "request"]
        let values = ["spa", "server", "code", "token", "https://app.example/cb", "http://127.0.0.1:1/cb", "http://127.0.0.1:99999/cb",
                      "http://[::1]:8080/cb?x=1", "com.example.app:/oauth", "https://app.example/cb#f", "openid", "openid profile", "admin",
                      "S256", "plain", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "none", "login", "none login", "0", "-1", "a&b=c", "é", ""]
        Self.expectHolds(.authorize, Self.inputs(.authorize, count: 4000, seed: 11) { g in
            var pairs = [("client_id", g.pick(["spa", "server", "x"])), ("redirect_uri", g.pick(values)), ("response_type", "code")]
            for _ in 0..<g.int(7) { pairs.append((g.pick(names), g.chance(70) ? g.pick(values) : g.string(Self.textAlphabet, maxLength: 10))) }
            var body: [UInt8] = []
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { body.append(UInt8(ascii: "&")) }
                body += percentEncoded(key, g) + [UInt8(ascii: "=")] + percentEncoded(value, g)
            }
            return body
        })
    }

    @Test func userCodes() {
        let letters = ["B", "c", "D", "f", "G", "h", "J", "K", "l", "M", "N", "p", "Q", "R", "s", "T", "V", "w", "X", "z", "A", "0", "7", "-", " ", "\t", "ß", "Ｂ"]
        Self.expectHolds(.userCode, Self.inputs(.userCode, count: 4000, seed: 2) { g in Array(g.string(letters, maxLength: 12).utf8) })
    }

    @Test func basicAuthentication() {
        Self.expectHolds(.basicAuth, Self.inputs(.basicAuth, count: 3000, seed: 3) { g in
            let raw = Array(g.string(Self.textAlphabet, maxLength: 10).utf8) + [UInt8(ascii: ":")] + Array(g.string(Self.textAlphabet, maxLength: 10).utf8)
            let scheme = g.pick(["Basic ", "basic ", "BASIC  ", "Bearer ", ""])
            return Array((scheme + base64(raw)).utf8) + [0] + Array("client_id=\(g.string(["a", "c", "l", "i"], maxLength: 4))".utf8)
        })
    }

    @Test func scopes() {
        let words = ["openid", "email", " ", "  ", "api.read", "\"", "\\", "\t", "é", "!", "~", "#"]
        Self.expectHolds(.scope, Self.inputs(.scope, count: 4000, seed: 4) { g in Array(g.string(words, maxLength: 8).utf8) })
    }

    @Test func cookies() {
        let token = Encoding.base64URL(SeededRandom(seed: 9).bytes(32))
        let parts = ["__Host-devicegate_session=", "__Host-devicegate_csrf=", "devicegate_csrf=", token, "; ", ";", " ", "=", "x", "\u{600}", "\""]
        Self.expectHolds(.cookie, Self.inputs(.cookie, count: 3000, seed: 5) { g in Array(g.string(parts, maxLength: 8).utf8) })
    }

    @Test func stateFiles() {
        let lines = ["devicegate-flow 1\n", "devicegate-family 1\n", "id abc\n", "scope openid\n", "status pending\n", "status approved\n",
                     "subject %41\n", "created_ms 1\n", "expires_ms -1\n", "interval 5\n", "access_tokens a:1,b:2\n", "revoked_ms 0\n",
                     "end\n", "%", "\n", " "]
        Self.expectHolds(.record, Self.inputs(.record, count: 600, seed: 6) { g in Array(g.string(lines, maxLength: 16).utf8) })
    }

    @Test func bearerTokens() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let parts = ["{", "}", "\"alg\":", "\"ES256\"", "\"none\"", "\"kid\":\"{kid}\"", "\"typ\":\"at+jwt\"", ",", ".", "\u{0}", "[", "1e999"]
        var failures: [String] = []
        for input in Self.inputs(.bearerToken, count: 600, seed: 8, structured: { g in Array(g.string(parts, maxLength: 12).utf8) }) {
            do { try BearerTokenProperties.check(input, in: harness) } catch {
                failures.append("\(error)")
                if failures.count == 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func wholeApp() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let g = InputGenerator(seed: 7)
        let corpus = Self.seeds(.app)
        var failures: [String] = []
        for i in 0..<400 {
            // Mutate seeds field by field, so most inputs still reach an endpoint.
            var input = AppInput(g.pick(corpus))
            switch i % 6 {
            case 0: input.body = g.mutate(input.body, count: 1 + g.int(3))
            case 1: input.query = g.mutate(input.query)
            case 2: input.cookie = g.mutate(input.cookie); input.authorization = g.mutate(input.authorization, count: 1)
            case 3: input.path = g.mutate(input.path, count: 1); input.method = g.pick([[], Array("GET".utf8), Array("POST".utf8), g.soup(maxParts: 2)])
            case 4: input.remoteAddress = g.soup(maxParts: 3); input.remoteUser = g.soup(maxParts: 3); input.advanceSeconds = Int64(g.int(1000))
            default: input = AppInput(g.mutate(input.bytes, count: 1 + g.int(6)))
            }
            do { try harness.check(input) } catch {
                failures.append("\(error)")
                if failures.count == 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

/// `application/x-www-form-urlencoded`, spelled in one of the valid ways at random.
func percentEncoded(_ text: String, _ g: InputGenerator) -> [UInt8] {
    var out: [UInt8] = []
    for b in text.utf8 {
        if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A), g.chance(80) {
            out.append(b)
        } else if b == 0x20, g.chance(50) {
            out.append(UInt8(ascii: "+"))
        } else {
            out += Array("%\(g.chance(50) ? String(b, radix: 16, uppercase: true) : String(b, radix: 16))".utf8)
            if b < 0x10 { out.insert(UInt8(ascii: "0"), at: out.count - 1) }
        }
    }
    return out
}

/// RFC 4648 base64 with padding.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
        for j in 0..<4 { out.append(j <= chunk.count ? alphabet[Int(n >> (18 - 6 * UInt32(j)) & 63)] : UInt8(ascii: "=")) }
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}
