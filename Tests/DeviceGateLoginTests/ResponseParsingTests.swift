import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing

/// Discovery (OIDC Discovery §4), the device authorization response (RFC 8628 §3.2) and token
/// endpoint answers (RFC 6749 §5.1/5.2) as the tool reads them.
@Suite struct ResponseParsingTests {
    static let issuer = "https://id.example/application/o/devicegate/"

    static func json(_ text: String) -> Data { Data(text.utf8) }

    @Test func discoveryURLDropsTheTerminatingSlash() {
        #expect(DiscoveryDocument.url(forIssuer: Self.issuer) == "https://id.example/application/o/devicegate/.well-known/openid-configuration")
        #expect(DiscoveryDocument.url(forIssuer: "https://id.example") == "https://id.example/.well-known/openid-configuration")
    }

    @Test func discoveryGivesTheEndpoints() throws {
        let body = Self.json(#"{"issuer":"\#(Self.issuer)","device_authorization_endpoint":"https://id.example/d","token_endpoint":"https://id.example/t"}"#)
        let document = try DiscoveryDocument.parse(status: 200, body: body, expectedIssuer: Self.issuer).get()
        #expect(document.deviceAuthorizationEndpoint == "https://id.example/d")
        #expect(document.tokenEndpoint == "https://id.example/t")
    }

    @Test(arguments: [
        (200, #"{"issuer":"https://evil.example/","device_authorization_endpoint":"d","token_endpoint":"t"}"#, Int32(5)),
        // Identical means identical: no trailing-slash leniency.
        (200, #"{"issuer":"https://id.example/application/o/devicegate","device_authorization_endpoint":"d","token_endpoint":"t"}"#, 5),
        (200, #"{"device_authorization_endpoint":"d","token_endpoint":"t"}"#, 5),
        (404, "not found", 5),
        (200, "[1]", 5),
        (503, "", 4),
        (200, #"{"issuer":"https://id.example/application/o/devicegate/","token_endpoint":"t"}"#, 1),
        // An https issuer does not send secrets to plain-http endpoints.
        (200, #"{"issuer":"https://id.example/application/o/devicegate/","device_authorization_endpoint":"http://id.example/d","token_endpoint":"https://id.example/t"}"#, 1),
        (200, #"{"issuer":"https://id.example/application/o/devicegate/","device_authorization_endpoint":"https://id.example/d","token_endpoint":"http://id.example/t"}"#, 1),
    ])
    func discoveryFailures(status: Int, body: String, exit: Int32) {
        guard case .failure(let failure) = DiscoveryDocument.parse(status: status, body: Self.json(body), expectedIssuer: Self.issuer) else {
            Issue.record("must fail: \(body)")
            return
        }
        #expect(failure.status == exit, "\(failure.message)")
    }

    @Test func wrongIssuerLineNamesBothAndCannotEscapeTheTerminal() {
        let body = Self.json(#"{"issuer":"https://evil.example/\u001b[2J","device_authorization_endpoint":"d","token_endpoint":"t"}"#)
        guard case .failure(let failure) = DiscoveryDocument.parse(status: 200, body: body, expectedIssuer: Self.issuer) else {
            Issue.record("must fail")
            return
        }
        #expect(failure.message.hasPrefix("wrong issuer"))
        #expect(failure.message.contains(Self.issuer))
        #expect(!failure.message.contains("\u{1B}"))
    }

    @Test func deviceAuthorizationDefaultsTheIntervalToFive() throws {
        let body = Self.json(#"{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://i/device","expires_in":600}"#)
        let authorization = try DeviceAuthorization.parse(status: 200, body: body).get()
        #expect(authorization.interval == 5)
        #expect(authorization.verificationURIComplete == nil)
        #expect(authorization.qrText == "https://i/device")
    }

    @Test func deviceAuthorizationQRUsesTheCompleteURI() throws {
        let body = Self.json(#"{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://i/device","verification_uri_complete":"https://i/device?code=BCDF-GHJK","expires_in":60,"interval":2}"#)
        let authorization = try DeviceAuthorization.parse(status: 200, body: body).get()
        #expect(authorization.qrText == "https://i/device?code=BCDF-GHJK")
        #expect(authorization.interval == 2 && authorization.expiresIn == 60)
    }

    @Test(arguments: [
        (200, #"{"user_code":"U","verification_uri":"v","expires_in":600}"#, Int32(1)),
        (200, #"{"device_code":"d","user_code":"U","verification_uri":"v","expires_in":"600"}"#, 1),
        (200, #"{"device_code":"d","user_code":"U","verification_uri":"v","expires_in":true}"#, 1),
        (200, #"{"device_code":"d","user_code":"U","verification_uri":"v","expires_in":1.5}"#, 1),
        (400, #"{"error":"invalid_scope"}"#, 1),
        (401, #"{"error":"invalid_client","error_description":"who?"}"#, 1),
        (500, "", 4),
    ])
    func deviceAuthorizationFailures(status: Int, body: String, exit: Int32) {
        guard case .failure(let failure) = DeviceAuthorization.parse(status: status, body: Self.json(body)) else {
            Issue.record("must fail: \(body)")
            return
        }
        #expect(failure.status == exit)
    }

    @Test func refusalNamesTheErrorCode() {
        guard case .failure(let failure) = DeviceAuthorization.parse(status: 401, body: Self.json(#"{"error":"invalid_client","error_description":"unknown client"}"#)) else {
            Issue.record("must fail")
            return
        }
        #expect(failure.message.contains("invalid_client") && failure.message.contains("unknown client"))
    }

    @Test func tokenAnswers() {
        guard case .tokens(let tokens) = TokenEndpointAnswer.parse(status: 200, body: Self.json(#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#)) else {
            Issue.record("tokens expected")
            return
        }
        #expect(tokens.integer("expires_in") == 3600)
        guard case .error(let code, _) = TokenEndpointAnswer.parse(status: 400, body: Self.json(#"{"error":"slow_down"}"#)) else {
            Issue.record("error expected")
            return
        }
        #expect(code == "slow_down")
        guard case .unreadable = TokenEndpointAnswer.parse(status: 200, body: Self.json(#"{"token_type":"Bearer"}"#)) else {
            Issue.record("a 200 without access_token is unreadable")
            return
        }
        guard case .unavailable(502) = TokenEndpointAnswer.parse(status: 502, body: Data()) else {
            Issue.record("5xx is unavailable")
            return
        }
    }

    /// Numbers stay integers, booleans and fractions are not integers, and the file reads back as written.
    @Test func jsonValuesKeepTheirKinds() throws {
        let json = try #require(JSONObject(data: Self.json(#"{"a":3600,"b":true,"c":1.5,"d":null,"e":[1,"x"],"f":{"g":"h/i"},"s":"é\"\u0001"}"#)))
        #expect(json.integer("a") == 3600 && json.integer("b") == nil && json.integer("c") == nil)
        #expect(json.members["b"] == .bool(true) && json.members["c"] == .number(1.5) && json.members["d"] == .null)
        #expect(json.members["e"] == .array([.integer(1), .string("x")]) && json.members["f"] == .object(["g": "h/i"]))
        #expect(json.string("s") == "é\"\u{01}")
        let written = json.serialized()
        #expect(written.last == 0x0A)
        #expect(String(decoding: written, as: UTF8.self).hasPrefix(#"{"a":3600,"b":true,"c":1.5,"d":null,"e":[1,"x"],"f":{"g":"h/i"}"#))
        #expect(JSONObject(data: written) == json)
        #expect(JSONObject(data: Self.json("[1]")) == nil && JSONObject(data: Self.json("{")) == nil)
    }

    @Test func rotationKeepsTheOldRefreshTokenOnlyWhenNoneCame() {
        let old = JSONObject(members: ["access_token": "a1", "refresh_token": "r1", "id_token": "i1"])
        let rotated = TokenFile.rotated(previous: old, response: JSONObject(members: ["access_token": "a2", "refresh_token": "r2"]))
        #expect(rotated.string("refresh_token") == "r2" && rotated.string("access_token") == "a2")
        #expect(rotated.string("id_token") == nil)
        let kept = TokenFile.rotated(previous: old, response: JSONObject(members: ["access_token": "a2"]))
        #expect(kept.string("refresh_token") == "r1")
    }

    @Test func tokenFileWithoutRefreshToken() {
        guard case .failure(let failure) = TokenFile.refreshToken(in: JSONObject(members: ["access_token": "a"]), path: "/t") else {
            Issue.record("must fail")
            return
        }
        #expect(failure.status == 6)
        guard case .failure = TokenFile.refreshToken(in: nil, path: "/t") else {
            Issue.record("must fail")
            return
        }
    }

    /// RFC 6749 Appendix B and §2.3.1.
    @Test func formAndBasicEncoding() {
        #expect(FormEncoding.body([("scope", "openid profile"), ("x", "a+b&c=d/é")]) == "scope=openid+profile&x=a%2Bb%26c%3Dd%2F%C3%A9")
        // base64("a%3Ab:p%40ss") — the id and secret are form-encoded first.
        #expect(FormEncoding.basicAuthorization(clientID: "a:b", secret: "p@ss") == "Basic " + Data("a%3Ab:p%40ss".utf8).base64EncodedString())
        for text in ["", "a", "ab", "abc", "abcd"] {
            #expect(FormEncoding.basicAuthorization(clientID: text, secret: "") == "Basic " + Data((text + ":").utf8).base64EncodedString())
        }
    }

    @Test func printableRemovesControls() {
        #expect(Text.printable("a\u{1B}[31mb\r\nc\u{202E}d") == "a?[31mb??c?d")
        #expect(Text.printable(String(repeating: "x", count: 300)).count == 201)
    }

    @Test func countdownLine() {
        #expect(Countdown.line(secondsLeft: 598, nextPollIn: 5) == "Waiting for approval: 9:58 left, next check in 5 s")
        #expect(Countdown.line(secondsLeft: -3, nextPollIn: 0) == "Waiting for approval: 0:00 left, next check in 0 s")
    }
}
