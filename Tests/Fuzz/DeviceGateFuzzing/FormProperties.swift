import DeviceFlow
import DeviceGateHTTP

/// `FormDecoding` (a form body or query string, RFC 6749 Appendix B) and `FormFields`.
public enum FormProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        let expected = ReferenceCoding.decodeForm(data, maximumFields: FormDecoding.maximumFields)
        let fields: FormFields
        do {
            fields = try FormDecoding.decode(data)
        } catch {
            try require(error.code == "invalid_request" && error.status == 400, "decode threw \(error) (status \(error.status)) for \(quoted(data))")
            try require(expected == nil, "decode refused \(quoted(data)) (\(error.detail)), the reference decodes it to \(expected!)")
            return
        }
        guard let expected else { throw PropertyViolation("decode accepted \(quoted(data)), the reference refuses it") }
        try require(fields == FormFields(pairs: expected), "decode(\(quoted(data))) = \(fields.pairs), the reference says \(expected)")
        try accessors(fields)
        try roundTrip(fields.pairs, variant: data.first ?? 0)

        // Content-Type: whatever parameters follow the media type are ignored. (HTTP parameters
        // are ASCII; a non-ASCII byte after the `;` may make the header unreadable, and a
        // refusal of that is fine.)
        _ = FormDecoding.isFormContentType(String(decoding: data, as: UTF8.self))
        let parameters = String(decoding: data.filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self)
        try require(FormDecoding.isFormContentType("Application/X-WWW-Form-Urlencoded ;" + parameters),
                    "isFormContentType refused the form media type with parameters \(quoted(parameters))")
    }

    /// `single` refuses a repeated name and treats an empty value as absent (RFC 6749 §3.1);
    /// `has` sees every name.
    static func accessors(_ fields: FormFields) throws(PropertyViolation) {
        var counts: [String: Int] = [:]
        for (key, _) in fields.pairs { counts[key, default: 0] += 1 }
        for (key, count) in counts {
            try require(fields.has(key), "has(\(quoted(key))) is false")
            let sent = fields.pairs.first { $0.0 == key }!.1
            switch Result(catching: { () throws(OAuthError) in try fields.single(key) }) {
            case .success(let value):
                try require(count == 1, "single(\(quoted(key))) returned a value for a name sent \(count) times")
                try require(value == (sent.isEmpty ? nil : sent), "single(\(quoted(key))) = \(String(describing: value)), sent \(quoted(sent))")
            case .failure(let error):
                try require(count > 1 && error.code == "invalid_request", "single(\(quoted(key))) threw \(error) for a name sent \(count) times")
            }
        }
        // NUL never survives decoding, so this name is never present.
        try require(!fields.has("\0"), "has(NUL) is true")
        let absent = try? fields.single("\0")
        try require(absent == nil, "single(NUL) returned a value")
    }

    /// Encoding the decoded pairs again and decoding that gives the same pairs, whichever of
    /// the valid spellings the encoder picks (`+` or `%20`, upper- or lowercase hex).
    static func roundTrip(_ pairs: [(String, String)], variant: UInt8) throws(PropertyViolation) {
        let encoded = ReferenceCoding.formEncode(pairs, plusForSpace: variant & 1 == 0, lowercase: variant & 2 != 0)
        let again: FormFields
        do { again = try FormDecoding.decode(encoded) } catch {
            throw PropertyViolation("round trip of \(pairs): decode(\(quoted(encoded))) threw \(error)")
        }
        try require(again == FormFields(pairs: pairs), "round trip of \(pairs) through \(quoted(encoded)) gave \(again.pairs)")
    }
}
