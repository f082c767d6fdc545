/// Encoders the properties round-trip through, written from the RFCs rather than from the
/// decoders under test, and a plain reference form decoder to compare against.
enum ReferenceCoding {
    private static let upperHex = Array("0123456789ABCDEF".utf8)
    private static let lowerHex = Array("0123456789abcdef".utf8)

    /// WHATWG `application/x-www-form-urlencoded` serialisation of one component: unreserved
    /// bytes as they are, space as `+` (or `%20`), everything else `%XX` (either case).
    static func formEncode(_ bytes: some Sequence<UInt8>, plusForSpace: Bool = true, lowercase: Bool = false) -> [UInt8] {
        let hex = lowercase ? lowerHex : upperHex
        var out: [UInt8] = []
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.append(b)
            case UInt8(ascii: " ") where plusForSpace:
                out.append(UInt8(ascii: "+"))
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return out
    }

    static func formEncode(_ pairs: [(String, String)], plusForSpace: Bool = true, lowercase: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for (i, (key, value)) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out += formEncode(key.utf8, plusForSpace: plusForSpace, lowercase: lowercase)
            out.append(UInt8(ascii: "="))
            out += formEncode(value.utf8, plusForSpace: plusForSpace, lowercase: lowercase)
        }
        return out
    }

    /// RFC 4648 §4 base64, with or without `=` padding.
    static func base64(_ bytes: [UInt8], padded: Bool = true) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            var n: UInt32 = 0
            for (j, b) in chunk.enumerated() { n |= UInt32(b) << (16 - 8 * UInt32(j)) }
            let sextets = chunk.count + 1
            for j in 0..<4 {
                if j < sextets { out.append(alphabet[Int(n >> (18 - 6 * UInt32(j)) & 63)]) } else if padded { out.append(UInt8(ascii: "=")) }
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The form decoding the WHATWG URL standard §5.1 describes, with devicegate's extra
    /// refusals (RFC 6749 is stricter than browsers): a `%` without two hex digits, a NUL,
    /// invalid UTF-8 or more than `maximumFields` non-empty fields make the whole body invalid.
    static func decodeForm(_ bytes: [UInt8], maximumFields: Int) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        var part: [UInt8] = []
        func flush() -> Bool {
            defer { part = [] }
            if part.isEmpty { return true }
            let eq = part.firstIndex(of: UInt8(ascii: "=")) ?? part.count
            guard let key = component(Array(part[..<eq])),
                  let value = component(eq < part.count ? Array(part[(eq + 1)...]) : []) else { return false }
            pairs.append((key, value))
            return true
        }
        for b in bytes {
            if b == UInt8(ascii: "&") { guard flush() else { return nil } } else { part.append(b) }
        }
        guard flush(), pairs.count <= maximumFields else { return nil }
        return pairs
    }

    private static func component(_ raw: [UInt8]) -> String? {
        func hexValue(_ c: UInt8) -> UInt8? {
            if let i = upperHex.firstIndex(of: c) { return UInt8(i) }
            if let i = lowerHex.firstIndex(of: c) { return UInt8(i) }
            return nil
        }
        var out: [UInt8] = []
        var i = 0
        while i < raw.count {
            switch raw[i] {
            case UInt8(ascii: "%"):
                guard i + 2 < raw.count, let hi = hexValue(raw[i + 1]), let lo = hexValue(raw[i + 2]) else { return nil }
                out.append(hi * 16 + lo)
                i += 3
            case UInt8(ascii: "+"):
                out.append(0x20)
                i += 1
            default:
                out.append(raw[i])
                i += 1
            }
        }
        guard !out.contains(0) else { return nil }
        return String(validating: out, as: UTF8.self)
    }
}
