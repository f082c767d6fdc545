/// Where a device authorization request came from, kept with the flow so that the consent page
/// can tell the person who is asking (RFC 8628 §5.4, remote phishing: "the authorization server
/// SHOULD … inform the user … of the device's … location"), and with the grant it leads to, so
/// that "Your devices" can say from where it was approved.
///
/// Both values are the device's own words (the address as the web server saw it, the
/// User-Agent as sent) and are hostile: `init(address:userAgent:)` keeps only printable ASCII
/// and bounded lengths, and pages escape them like any other value.
public struct DeviceRequester: Sendable, Equatable {
    /// The client's address as the web server passed it (`REMOTE_ADDR`), at most 45 bytes (the
    /// longest textual IPv6 address), else empty.
    public var address: String
    /// The HTTP client product, shortened by `UserAgentProduct.shorten`: nil when none was
    /// sent or nothing readable was left.
    public var userAgent: String?

    public init(address: String, userAgent: String?) {
        let address = String(address.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == ":" || $0 == "." || $0 == "%") }
            .map(Character.init))
        self.address = address.utf8.count <= 45 ? address : ""
        self.userAgent = userAgent.flatMap(UserAgentProduct.shorten)
    }

    /// Builds a value read back from a store, as it was written (already shortened).
    public init(stored address: String, userAgent: String?) {
        self.address = address
        self.userAgent = userAgent
    }
}

/// The part of a User-Agent a person can recognise: its first product (RFC 9110 §10.1.5,
/// `product = token ["/" product-version]`), as "name/version", at most 48 bytes, printable ASCII.
/// "Mozilla/5.0 (X11; Linux x86_64) …" gives "Mozilla/5.0"; "curl/8.5.0" stays; a value with no
/// token character at all gives nil.
public enum UserAgentProduct {
    public static let maximumBytes = 48

    public static func shorten(_ userAgent: String) -> String? {
        var product = ""
        var sawSlash = false
        for scalar in userAgent.unicodeScalars.drop(while: { $0 == " " || $0 == "\t" }) {
            if scalar == "/" && !sawSlash && !product.isEmpty {
                sawSlash = true
                product.unicodeScalars.append(scalar)
                continue
            }
            guard isTokenCharacter(scalar) else { break }
            product.unicodeScalars.append(scalar)
            if product.utf8.count >= maximumBytes { break }
        }
        if product.hasSuffix("/") { product.removeLast() }
        return product.isEmpty ? nil : product
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        guard scalar.isASCII, scalar.value > 0x20, scalar.value < 0x7F else { return false }
        return !"\"(),/:;<=>?@[\\]{}".unicodeScalars.contains(scalar)
    }
}
