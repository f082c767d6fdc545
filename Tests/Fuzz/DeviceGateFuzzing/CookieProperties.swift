import DeviceFlow
import DeviceGateConfig
import DeviceGateTesting
import DeviceGateWeb

/// `WebCookies.value`: the Cookie header (RFC 6265 §5.4) as the verification page reads it.
public enum CookieProperties {
    static let names: [String] = [false, true].flatMap { insecure -> [String] in
        var settings = WebSettings()
        settings.insecureDevelopmentCookies = insecure
        let cookies = WebCookies(settings: settings)
        return [cookies.sessionName, cookies.csrfName]
    }

    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        let header = String(decoding: data, as: UTF8.self)
        // A token of ours: 256 random bits, base64url.
        let ours = Encoding.base64URL(SeededRandom(seed: seed(data)).bytes(32))
        try require(WebCookies.isToken(ours), "isToken refuses the fresh token \(ours)")
        for name in names {
            // Whatever comes back is one of ours in shape, and was sent under that name.
            if let value = WebCookies.value(name, in: header) {
                try require(WebCookies.isToken(value), "value(\(name)) = \(quoted(value)), not a token")
                try require(Array(header.utf8).contains(Array((name + "=" + value).utf8)), "value(\(name)) = \(value), not sent as \(name)=… in \(quoted(header))")
            }
            // Ours is found wherever it stands in the header; first, it wins.
            try require(WebCookies.value(name, in: name + "=" + ours + "; " + header) == ours, "\(name)=\(ours) first in \(quoted(header)) is not found")
            let last = WebCookies.value(name, in: header + ";" + name + "=" + ours)
            try require(last != nil, "\(name)=\(ours) last in \(quoted(header)) is not found")
        }
        try require(WebCookies.value(names[0], in: nil) == nil, "value in no header is not nil")
    }
}
