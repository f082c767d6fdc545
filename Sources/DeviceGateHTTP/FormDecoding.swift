import DeviceFlow

/// Decoded `application/x-www-form-urlencoded` fields (RFC 6749 Appendix B, WHATWG URL §5).
public struct FormFields: Sendable, Equatable {
    public private(set) var pairs: [(String, String)]

    public init(pairs: [(String, String)]) { self.pairs = pairs }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs, by: { $0 == $1 })
    }

    /// The single value of `name`. RFC 6749 §3.1 and §3.2: "Request and response parameters
    /// MUST NOT be included more than once", so a repeat is `invalid_request`. An empty value
    /// counts as absent (RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if
    /// they were omitted").
    public func single(_ name: String) throws(OAuthError) -> String? {
        var found: String?
        for (key, value) in pairs where key == name {
            if found != nil { throw .invalidRequest("parameter \(name) is repeated") }
            found = value
        }
        return found?.isEmpty == true ? nil : found
    }

    public func has(_ name: String) -> Bool { pairs.contains { $0.0 == name } }
}

public enum FormDecoding {
    /// Upper bound on fields, so a body of `&&&&…` cannot make us build a huge array.
    public static let maximumFields = 256

    /// Decodes a form body or query string. Invalid percent-encoding, invalid UTF-8, NUL bytes
    /// and too many fields are `invalid_request`.
    public static func decode(_ bytes: some Collection<UInt8>) throws(OAuthError) -> FormFields {
        var pairs: [(String, String)] = []
        for part in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard pairs.count < maximumFields else { throw .invalidRequest("too many form fields") }
            let eq = part.firstIndex(of: UInt8(ascii: "="))
            let rawKey = eq.map { part[part.startIndex..<$0] } ?? part[...]
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? part[part.endIndex...]
            pairs.append((try component(rawKey), try component(rawValue)))
        }
        return FormFields(pairs: pairs)
    }

    /// Percent-decodes one component (`+` is a space) and validates it as UTF-8.
    public static func component(_ raw: some Collection<UInt8>) throws(OAuthError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i != raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                let h = raw.index(after: i)
                guard h != raw.endIndex, raw.index(after: h) != raw.endIndex,
                      let hi = Encoding.hexDigitValue(raw[h]), let lo = Encoding.hexDigitValue(raw[raw.index(after: h)]) else {
                    throw .invalidRequest("invalid percent-encoding in form data")
                }
                out.append(hi << 4 | lo)
                i = raw.index(h, offsetBy: 2)
            } else {
                out.append(b == UInt8(ascii: "+") ? 0x20 : b)
                i = raw.index(after: i)
            }
        }
        guard !out.contains(0) else { throw .invalidRequest("NUL byte in form data") }
        guard let text = String(validating: out, as: UTF8.self) else { throw .invalidRequest("form data is not valid UTF-8") }
        return text
    }

    /// True for `application/x-www-form-urlencoded`, with or without parameters such as charset.
    public static func isFormContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let mediaType = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces().lowercased() } ?? ""
        return mediaType == "application/x-www-form-urlencoded"
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 §5.6.3).
    public func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
