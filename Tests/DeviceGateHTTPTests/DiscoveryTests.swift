import DeviceGateHTTP
import Foundation
import Testing

/// OIDC Discovery 1.0 §3 / RFC 8414 §2 and the JWKS (RFC 7517 §5), read as JSON.
struct DiscoveryTests {
    /// The response body as a JSON object (Foundation's parser, independent of the app's writer).
    static func object(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func discoveryAndJWKSAreDerivedFromTheConfiguration() throws {
        let f = try SignedAppFixture()
        let doc = f.get("/application/o/devicegate/.well-known/openid-configuration")
        #expect(doc.status == 200)
        #expect(doc.header("Content-Type") == "application/json")
        let d = try Self.object(doc)
        // OIDC Discovery §3 / RFC 8414 §2, every member, exactly.
        #expect(Set(d.keys) == ["issuer", "authorization_endpoint", "device_authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                                "introspection_endpoint", "revocation_endpoint", "end_session_endpoint", "grant_types_supported",
                                "response_types_supported", "response_modes_supported", "code_challenge_methods_supported",
                                "authorization_response_iss_parameter_supported", "prompt_values_supported",
                                "subject_types_supported", "id_token_signing_alg_values_supported", "token_endpoint_auth_methods_supported",
                                "revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported",
                                "request_parameter_supported", "request_uri_parameter_supported", "claims_parameter_supported",
                                "scopes_supported", "claims_supported"])
        #expect(d["issuer"] as? String == "https://auth.example.com/application/o/devicegate/")
        #expect(d["device_authorization_endpoint"] as? String == "https://auth.example.com/application/o/device/")
        #expect(d["token_endpoint"] as? String == "https://auth.example.com/application/o/token/")
        #expect(d["userinfo_endpoint"] as? String == "https://auth.example.com/application/o/userinfo/")
        #expect(d["introspection_endpoint"] as? String == "https://auth.example.com/application/o/introspect/")
        #expect(d["revocation_endpoint"] as? String == "https://auth.example.com/application/o/revoke/")
        #expect(d["jwks_uri"] as? String == "https://auth.example.com/application/o/devicegate/jwks/")
        #expect(d["grant_types_supported"] as? [String] == ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"])
        // OIDC Discovery §3 REQUIRED and non-empty (MSAL reads it); the code flow is served.
        #expect(d["response_types_supported"] as? [String] == ["code"])
        #expect(d["response_modes_supported"] as? [String] == ["query", "form_post"])
        #expect(d["prompt_values_supported"] as? [String] == ["consent", "login", "none", "select_account"])
        #expect(d["request_parameter_supported"] as? Bool == false)
        #expect(d["subject_types_supported"] as? [String] == ["public"])
        #expect(d["token_endpoint_auth_methods_supported"] as? [String] == ["none", "client_secret_basic", "client_secret_post"])
        #expect(d["revocation_endpoint_auth_methods_supported"] as? [String] == ["none", "client_secret_basic", "client_secret_post"])
        #expect(d["introspection_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic", "client_secret_post"])
        #expect(d["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])
        #expect(d["scopes_supported"] as? [String] == ["openid", "profile", "email", "offline_access", "api.read"])
        #expect(d["claims_supported"] as? [String] == ["sub", "iss", "aud", "exp", "iat", "auth_time", "azp", "nonce",
                                                      "name", "preferred_username", "email", "email_verified"])

        let jwksResponse = f.get("/application/o/devicegate/jwks/")
        #expect(jwksResponse.status == 200)
        let keys = try #require(try Self.object(jwksResponse)["keys"] as? [[String: Any]])
        let published = f.keys.publishedKeys(now: f.clock.now())
        let kid = try #require(published.first?.kid)
        #expect(keys.count == published.count)
        let key = try #require(keys.first { $0["kid"] as? String == kid })
        #expect(key["kty"] as? String == "RSA")
        #expect(key["use"] as? String == "sig")
        #expect(key["alg"] as? String == "RS256")
        #expect((key["n"] as? String)?.isEmpty == false && key["e"] as? String == "AQAB")
        #expect(key["d"] == nil, "a private member in the JWKS")
        #expect(f.app.handle(HTTPRequest(method: "POST", path: "/application/o/devicegate/jwks/")).status == 405)
    }
}
