import DeviceFlow
import DeviceGateTesting
import Testing

struct UserCodeFormatTests {
    let format = UserCodeFormat()

    @Test func defaultIsEightBase20CharactersShownAsTwoGroups() {
        let code = format.generate(using: SystemSecureRandom())
        #expect(code.count == 8)
        #expect(code.utf8.allSatisfy { UserCodeFormat.Charset.base20.alphabet.contains($0) })
        let shown = format.display(code)
        #expect(shown.count == 9 && Array(shown)[4] == "-")
    }

    @Test(arguments: [
        ("WDJB-MJHT", "WDJBMJHT"), ("wdjb-mjht", "WDJBMJHT"), ("wdjbmjht", "WDJBMJHT"),
        (" WDJB MJHT ", "WDJBMJHT"), ("W-D-J-B-M-J-H-T", "WDJBMJHT"),
    ])
    func normalizationIgnoresCaseDashesAndSpaces(input: String, canonical: String) {
        #expect(format.normalize(input) == canonical)
    }

    @Test(arguments: ["WDJB-MJH", "WDJB-MJHTX", "WDJB-MJHA", "WDJB_MJHT", "", "ŴDJB-MJHT", "WDJB\u{0}MJHT"])
    func malformedCodesAreRejected(input: String) {
        #expect(format.normalize(input) == nil)
    }

    @Test func digitsFormat() {
        let digits = UserCodeFormat(length: 9, charset: .digits, groupSize: 3)
        #expect(digits.normalize("123-456-789") == "123456789")
        #expect(digits.normalize("123-456-78A") == nil)
        #expect(digits.display("123456789") == "123-456-789")
        #expect(Int(digits.entropyBits) == 29)
        #expect(Int(UserCodeFormat().entropyBits) == 34)
    }

    @Test func generationCoversTheAlphabetUniformly() {
        // 20,000 draws: every letter of the base-20 alphabet appears, none wildly over-represented.
        var counts: [UInt8: Int] = [:]
        let random = SeededRandom(seed: 7)
        for _ in 0..<2500 { for b in format.generate(using: random).utf8 { counts[b, default: 0] += 1 } }
        #expect(counts.count == 20)
        #expect(counts.values.allSatisfy { $0 > 800 && $0 < 1200 })
    }
}

struct EncodingTests {
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("\u{FF}\u{FE}", "w7_Dvg")])
    func base64URL(input: String, expected: String) {
        #expect(Encoding.base64URL(Array(input.utf8)) == expected)
    }

    @Test func sha256KnownAnswer() {
        #expect(Encoding.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func constantTimeEqualsComparesWholeStrings() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }

    @Test func deviceCodesCarry256BitsAndAreDistinct() {
        let policy = FlowPolicy(verificationURI: "https://x/device")
        let client = testConfiguration().clients[0]
        var seen = Set<String>()
        for _ in 0..<100 {
            let flow = NewFlow.draw(client: client, scope: ScopeSet(["openid"]), policy: policy, now: UnixTime(seconds: 0),
                                    random: SystemSecureRandom(), userCodeKey: { $0 })
            #expect(flow.deviceCode.count == 43) // 32 bytes, base64url without padding
            seen.insert(flow.deviceCode)
        }
        #expect(seen.count == 100)
    }

    @Test func deviceCodesAre32RandomBytesAndTheIDIsTheirSHA256() {
        let policy = FlowPolicy(verificationURI: "https://x/device")
        let client = testConfiguration().clients[0]
        let base64URL = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var seen = Set<String>()
        for i in 0..<200 {
            let flow = NewFlow.draw(client: client, scope: ScopeSet(["openid"]), policy: policy, now: UnixTime(seconds: 0),
                                    random: SystemSecureRandom(), userCodeKey: { Encoding.hmacSHA256Hex(key: [7], $0) })
            #expect(flow.deviceCode.count == 43 && flow.deviceCode.utf8.allSatisfy(base64URL.contains))
            // The unpadded encoding of 32 bytes: the last character carries 4 bits.
            #expect("AEIMQUYcgkosw048".utf8.contains(flow.deviceCode.utf8.last!))
            #expect(flow.record.id == Encoding.sha256Hex(flow.deviceCode), "draw \(i): the id is the SHA-256 of the code")
            seen.insert(flow.deviceCode)
        }
        #expect(seen.count == 200)
    }

    @Test func verificationURICompleteCarriesTheDisplayedCode() {
        let policy = FlowPolicy(verificationURI: "https://auth.example.com/device")
        #expect(policy.verificationURIComplete(displayUserCode: "WDJB-MJHT") == "https://auth.example.com/device?code=WDJB-MJHT")
    }
}

struct ScopeAndClientTests {
    @Test func scopeParsing() {
        #expect(ScopeSet.parse("openid email  my-other-scope")?.tokens == ["openid", "email", "my-other-scope"])
        #expect(ScopeSet.parse("openid openid")?.tokens == ["openid"])
        #expect(ScopeSet.parse("open\"id") == nil)
        #expect(ScopeSet.parse("a\\b") == nil)
        #expect(ScopeSet.parse("é") == nil)
    }

    @Test func omittedScopeGetsDefaultsNeverMore() throws {
        let client = testConfiguration().clients[0]
        #expect(try client.resolveScopes(requested: nil).get() == ScopeSet(["openid"]))
        #expect(try client.resolveScopes(requested: ScopeSet([])).get() == ScopeSet(["openid"]))
        #expect(try client.resolveScopes(requested: ScopeSet(["email"])).get() == ScopeSet(["email"]))
        #expect(client.resolveScopes(requested: ScopeSet(["openid", "admin"])) == .failure(.invalidScope("scope not allowed for this client: admin")))
    }

    @Test func clientAuthentication() throws {
        let registry = testConfiguration().clientRegistry
        #expect(try registry.authenticate(.init(clientID: "tv", secret: nil, method: .none)).get().clientID == "tv")
        #expect(try registry.authenticate(.init(clientID: "cli", secret: "s3cret-s3cret", method: .clientSecretBasic)).get().clientID == "cli")
        for bad in [
            ClientCredentials(clientID: "cli", secret: nil, method: .none),
            ClientCredentials(clientID: "cli", secret: "s3cret-s3creT", method: .clientSecretPost),
            ClientCredentials(clientID: "nobody", secret: nil, method: .none),
            ClientCredentials(clientID: "tv", secret: "anything", method: .clientSecretPost),
        ] {
            guard case .failure(let error) = registry.authenticate(bad) else { Issue.record("\(bad) authenticated"); continue }
            #expect(error.code == "invalid_client" && error.status == 401)
        }
    }
}
