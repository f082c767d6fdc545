#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The two endpoints the device flow needs, read from the issuer's OpenID Provider metadata.
public struct DiscoveryDocument: Equatable, Sendable {
    public let issuer: String
    public let deviceAuthorizationEndpoint: String
    public let tokenEndpoint: String

    /// OpenID Connect Discovery 1.0 §4: "If the Issuer value contains a path component, any
    /// terminating / MUST be removed before appending /.well-known/openid-configuration."
    public static func url(forIssuer issuer: String) -> String {
        var base = Substring(issuer)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// Reads the discovery answer. OpenID Connect Discovery 1.0 §4.3: "The issuer value returned
    /// MUST be identical to the Issuer URL that was used as the prefix to
    /// /.well-known/openid-configuration": anything else is a wrong issuer (exit 5), as is a 404;
    /// a 5xx is a network failure. RFC 8628 §4 names `device_authorization_endpoint`.
    public static func parse(status: Int, body: Data, expectedIssuer: String) -> Result<DiscoveryDocument, LoginFailure> {
        let where_ = url(forIssuer: expectedIssuer)
        if status >= 500 {
            return .failure(.network("the server answered HTTP \(status) for \(where_)"))
        }
        guard status == 200 else {
            return .failure(.wrongIssuer("no OpenID configuration at \(where_) (HTTP \(status)): is --issuer right?"))
        }
        guard let json = JSONObject(data: body) else {
            return .failure(.wrongIssuer("\(where_) is not an OpenID configuration (not a JSON object): is --issuer right?"))
        }
        guard let issuer = json.string("issuer") else {
            return .failure(.wrongIssuer("\(where_) names no issuer: is --issuer right?"))
        }
        guard issuer == expectedIssuer else {
            return .failure(.wrongIssuer("wrong issuer: \(where_) names \(Text.quoted(issuer)), not \(Text.quoted(expectedIssuer))"))
        }
        guard let device = json.string("device_authorization_endpoint"), !device.isEmpty else {
            return .failure(.refused("the issuer \(expectedIssuer) offers no device flow (no device_authorization_endpoint)"))
        }
        guard let token = json.string("token_endpoint"), !token.isEmpty else {
            return .failure(.refused("the issuer \(expectedIssuer) names no token_endpoint"))
        }
        // An https issuer whose endpoints are plain http would send the client secret and the
        // device code in the clear (RFC 6749 §3.2 "MUST require the use of TLS").
        if expectedIssuer.lowercased().hasPrefix("https://") {
            for (name, endpoint) in [("device_authorization_endpoint", device), ("token_endpoint", token)]
            where !endpoint.lowercased().hasPrefix("https://") {
                return .failure(.refused("the issuer \(expectedIssuer) names a \(name) that is not https: \(Text.quoted(endpoint))"))
            }
        }
        return .success(DiscoveryDocument(issuer: issuer, deviceAuthorizationEndpoint: device, tokenEndpoint: token))
    }
}
