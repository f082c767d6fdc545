import DeviceFlow
import Foundation
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import Testing
import TokenSigning

/// How a gateway location's `auth_request` path is read: one row per case.
struct GatewayRequirementTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var path: String
        var expected: GatewayRequirement?
        var testDescription: String { path.isEmpty ? "(empty)" : path }
    }

    static let cases: [Case] = [
        Case(path: "", expected: .init(scopes: [])),
        Case(path: "api.read", expected: .init(scopes: ["api.read"])),
        Case(path: "api.read%20api.write", expected: .init(scopes: ["api.read", "api.write"])),
        Case(path: "api.read api.write", expected: .init(scopes: ["api.read", "api.write"])),
        Case(path: "partner%2Bread", expected: .init(scopes: ["partner+read"])),
        Case(path: "a%2Cb%20c", expected: .init(scopes: ["a,b", "c"])),
        Case(path: "https://www.example.com/auth/drive", expected: .init(scopes: ["https://www.example.com/auth/drive"])),
        Case(path: "%22https://api.example.com%22%20api.read", expected: .init(audience: "https://api.example.com", scopes: ["api.read"])),
        Case(path: "\"https://api.example.com\" api.read", expected: .init(audience: "https://api.example.com", scopes: ["api.read"])),
        Case(path: "\"https%3A%2F%2Fapi.example.com\"", expected: .init(audience: "https://api.example.com", scopes: [])),
        // Refused: ambiguous or malformed.
        Case(path: "api.read+api.write", expected: nil),
        Case(path: "api.read,api.write", expected: nil),
        Case(path: "\"https://a.example\" \"https://b.example\"", expected: nil),
        Case(path: "\"\"", expected: nil),
        Case(path: "\"unterminated", expected: nil),
        Case(path: "api%2", expected: nil),
        Case(path: "back%5Cslash", expected: nil),
        Case(path: "caf%C3%A9", expected: nil),
    ]

    @Test(arguments: cases)
    func parse(_ c: Case) {
        switch GatewayRequirement.parse(c.path) {
        case .success(let requirement): #expect(requirement == c.expected)
        case .failure(let problem):
            #expect(c.expected == nil, "refused: \(problem)")
            #expect(!problem.description.isEmpty)
        }
    }
}

struct AudienceAndScopeGatewayTests {
    /// RFC 9068 §4: the gateway refuses a token whose `aud` is not the resource's.
    @Test func tokenForAnotherAudienceIsRefused() throws {
        let f = try SignedAppFixture()
        let other = try f.signedAccessToken(aud: ["https://other.example.com"])
        let refused = f.get("/_devicegate/auth/openid", bearer: other)
        #expect(refused.status == 401 && refused.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true, "\(refused.bodyText)")
        #expect(f.get("/application/o/userinfo/", bearer: other).status == 401)
        // No aud at all is as bad (RFC 9068 §2.2: required).
        #expect(f.get("/_devicegate/auth/openid", bearer: try f.signedAccessToken(aud: [])).status == 401)
        // The issuer's own tokens carry the configured audience and pass.
        let own = try #require(try f.tokens(scope: "openid")["access_token"])
        #expect(f.get("/_devicegate/auth/openid", bearer: own).status == 200)
    }

    @Test func perLocationAudience() throws {
        let f = try SignedAppFixture()
        let orders = try f.signedAccessToken(aud: ["https://orders.example.com"])
        let both = try f.signedAccessToken(aud: ["https://billing.example.com", "https://orders.example.com"])
        let own = try #require(try f.tokens(scope: "openid")["access_token"])
        let ordersPath = "/_devicegate/auth/%22https://orders.example.com%22%20openid"
        #expect(f.get(ordersPath, bearer: orders).status == 200)
        #expect(f.get(ordersPath, bearer: both).status == 200)
        #expect(f.get(ordersPath, bearer: own).status == 401, "a token for the default audience is not for the orders API")
        #expect(f.get("/_devicegate/auth/%22\(f.config.issuer)%22", bearer: own).status == 200)
        #expect(f.get("/_devicegate/auth/%22https://billing.example.com%22", bearer: orders).status == 401)
    }

    /// A client registered with its own `audience` gets tokens only its API's locations take.
    @Test(arguments: [TokenSettings.Format.jwt, .opaque])
    func perClientAudienceIsIssuedAndCheckedPerLocation(format: TokenSettings.Format) throws {
        let f = try SignedAppFixture(format: format, configure: { $0.clients[0].audience = "https://orders.example.com" })
        let orders = try #require(try f.tokens(scope: "openid+api.read")["access_token"])
        #expect(f.get("/_devicegate/auth/%22https://orders.example.com%22%20api.read", bearer: orders).status == 200)
        #expect(f.get("/_devicegate/auth/api.read", bearer: orders).status == 401, "the default audience's locations refuse it")
        let introspected = try JSON(f.post("/application/o/introspect/", "token=\(orders)", authorization: SignedAppFixture.rsBasic))
        #expect(introspected["active"] == "true" && introspected["aud"] == "https://orders.example.com")
        #expect(f.get("/application/o/userinfo/", bearer: orders).status == 200, "userinfo is the issuer's own: any audience of its tokens")
        if format == .jwt {
            let payload = try #require(orders.split(separator: ".").dropFirst().first)
            var text = String(payload).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            let claims = String(decoding: try #require(Data(base64Encoded: text)), as: UTF8.self)
            #expect(claims.contains(#""aud":"https://orders.example.com""#), "\(claims)")
        }
    }

    /// RFC 6749 §3.3: '+' and ',' are part of a scope token, so they must match exactly.
    @Test func scopesWithPlusOrCommaMatchExactly() throws {
        let f = try SignedAppFixture()
        let plus = try f.signedAccessToken(aud: [f.config.issuer], scope: "openid partner+read")
        let split = try f.signedAccessToken(aud: [f.config.issuer], scope: "openid partner read a b")
        let comma = try f.signedAccessToken(aud: [f.config.issuer], scope: "a,b")
        #expect(f.get("/_devicegate/auth/partner%2Bread", bearer: plus).status == 200)
        #expect(f.get("/_devicegate/auth/partner%2Bread", bearer: split).status == 403)
        #expect(f.get("/_devicegate/auth/partner%20read", bearer: plus).status == 403)
        #expect(f.get("/_devicegate/auth/partner%20read", bearer: split).status == 200)
        #expect(f.get("/_devicegate/auth/a%2Cb", bearer: comma).status == 200)
        #expect(f.get("/_devicegate/auth/a%2Cb", bearer: split).status == 403)
        // A bare '+' or ',' is ambiguous: refused as a misconfiguration, for every token.
        for path in ["/_devicegate/auth/partner+read", "/_devicegate/auth/a,b"] {
            for token in [plus, split, comma] {
                let r = f.get(path, bearer: token)
                #expect(r.status == 500 && r.header("X-Devicegate-Subject") == nil, "\(path): \(r.status)")
            }
        }
    }
}

struct IntrospectionPermissionTests {
    /// RFC 7662 §2.1/§4: a confidential client that is not a resource server learns only about
    /// its own tokens; another client's token looks exactly like an unknown one.
    @Test func onlyResourceServersSeeOtherClientsTokens() throws {
        let f = try SignedAppFixture()
        let t = try f.tokens()
        let access = try #require(t["access_token"]), refresh = try #require(t["refresh_token"])
        for token in [access, refresh] {
            let asCLI = f.post("/application/o/introspect/", "token=\(token)", authorization: SignedAppFixture.cliBasic)
            let cliAnswer = try JSON(asCLI)
            #expect(asCLI.status == 200 && cliAnswer.fields == ["active": "false"], "\(asCLI.bodyText)")
            let asRS = try JSON(f.post("/application/o/introspect/", "token=\(token)", authorization: SignedAppFixture.rsBasic))
            #expect(asRS["active"] == "true" && asRS["client_id"] == "tv")
        }
        let own = try f.signedAccessToken(aud: [f.config.issuer], client: "cli")
        let ownAnswer = try JSON(f.post("/application/o/introspect/", "token=\(own)", authorization: SignedAppFixture.cliBasic))
        #expect(ownAnswer["active"] == "true" && ownAnswer["client_id"] == "cli")
    }

    @Test(arguments: ["\"a b\"", "'a\"b'", "\"\""])
    func audiencesMustBeNameableByTheGateway(_ value: String) throws {
        for yaml in ["issuer: https://auth.example.com/\ntokens:\n  audience: \(value)\n",
                     "issuer: https://auth.example.com/\nclients:\n  - client_id: tv\n    audience: \(value)\n"] {
            do {
                _ = try ConfigurationLoader().load(yaml: yaml, fileName: "c.yaml", environment: [:])
                Issue.record("accepted \(value)")
            } catch {
                #expect("\(error)".contains("audience") && "\(error)".contains("c.yaml:"), "\(error)")
            }
        }
    }

    @Test func introspectionTrueNeedsAConfidentialClient() throws {
        let yaml = """
        issuer: https://auth.example.com/
        clients:
          - client_id: tv
            introspection: true
        """
        #expect(throws: (any Error).self) { try ConfigurationLoader().load(yaml: yaml, fileName: "c.yaml", environment: [:]) }
        do {
            _ = try ConfigurationLoader().load(yaml: yaml, fileName: "c.yaml", environment: [:])
        } catch {
            #expect("\(error)".contains("c.yaml:4") && "\(error)".contains("introspection"), "\(error)")
        }
    }
}

struct NoSniffTests {
    /// Every JSON answer carries `X-Content-Type-Options: nosniff`.
    @Test func everyJSONAnswerIsNosniff() throws {
        let f = try SignedAppFixture()
        let token = try #require(try f.tokens()["access_token"])
        let responses: [(String, HTTPResponse)] = [
            ("device authorization", f.post("/application/o/device/", "client_id=tv")),
            ("token error", f.post("/application/o/token/", "grant_type=x&client_id=tv")),
            ("invalid_client", f.post("/application/o/token/", "grant_type=refresh_token&client_id=nobody")),
            ("405", f.get("/application/o/token/")),
            ("404", f.get("/nowhere")),
            ("discovery", f.get("/application/o/devicegate/.well-known/openid-configuration")),
            ("jwks", f.get("/application/o/devicegate/jwks/")),
            ("userinfo", f.get("/application/o/userinfo/", bearer: token)),
            ("userinfo 401", f.get("/application/o/userinfo/")),
            ("introspection", f.post("/application/o/introspect/", "token=\(token)", authorization: SignedAppFixture.rsBasic)),
            ("gateway 403", f.get("/_devicegate/auth/nope", bearer: token)),
            ("gateway 500", f.get("/_devicegate/auth/a+b", bearer: token)),
        ]
        for (name, response) in responses {
            #expect(response.header("Content-Type") == "application/json", "\(name)")
            #expect(response.header("X-Content-Type-Options") == "nosniff", "\(name)")
        }
    }
}
