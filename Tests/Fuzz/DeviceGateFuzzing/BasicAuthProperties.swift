import DeviceFlow
import DeviceGateHTTP

/// `ClientCredentialsExtraction`: `Authorization: Basic` (RFC 6749 §2.3.1, RFC 7617) and the
/// rule that a request uses one authentication method only.
///
/// Input: the Authorization header, a NUL, then a form body.
public enum BasicAuthProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        let parts = fields(data, separator: 0, count: 2)
        let header = String(decoding: parts[0], as: UTF8.self)
        try extraction(header: header, body: Array(parts[1]))
        try base64(Array(parts[0]))
        try basicRoundTrip(id: header, secret: String(decoding: parts[1], as: UTF8.self))
    }

    /// Any header and body give credentials or an `invalid_request`/`invalid_client` error,
    /// and credentials are what was sent.
    static func extraction(header: String, body: [UInt8]) throws(PropertyViolation) {
        let form = (try? FormDecoding.decode(body)) ?? FormFields(pairs: [])
        let credentials: ClientCredentials
        do {
            credentials = try ClientCredentialsExtraction.extract(authorization: header.isEmpty ? nil : header, form: form)
        } catch {
            try require(["invalid_request", "invalid_client"].contains(error.code), "extract threw \(error) for \(quoted(header))")
            try require(error.status == (error.code == "invalid_client" ? 401 : 400), "extract threw \(error) with status \(error.status)")
            return
        }
        try require(!credentials.clientID.isEmpty, "extract gave an empty client_id for \(quoted(header))")
        // The scheme is matched on characters: "Basic" and a space, in any case.
        let isBasic = header.count >= 6 && header.prefix(6).lowercased() == "basic "
        if isBasic {
            let decoded = ClientCredentialsExtraction.decodeBasic(String(header.dropFirst(6)))
            try require(credentials.method == .clientSecretBasic && decoded?.0 == credentials.clientID && decoded?.1 == credentials.secret,
                        "extract(\(quoted(header))) = \(credentials), decodeBasic says \(String(describing: decoded))")
        } else {
            try require(credentials.method != .clientSecretBasic, "extract used Basic for \(quoted(header))")
            try require((try? form.single("client_id")) == credentials.clientID, "extract's client_id is not the form's")
        }
    }

    /// Decoding what an RFC 4648 encoder wrote gives the bytes back, padded or not.
    static func base64(_ bytes: [UInt8]) throws(PropertyViolation) {
        for padded in [true, false] {
            let text = ReferenceCoding.base64(bytes, padded: padded)
            let decoded = ClientCredentialsExtraction.base64Decode(text)
            try require(decoded == bytes, "base64Decode(\(quoted(text))) = \(String(describing: decoded)), expected \(bytes)")
        }
        // And whatever the header holds never traps.
        _ = ClientCredentialsExtraction.base64Decode(String(decoding: bytes, as: UTF8.self))
    }

    /// A client's Basic header, built as RFC 6749 §2.3.1 says (form-encode, join with a colon,
    /// base64), decodes to its id and secret. A NUL cannot be sent (form decoding refuses it).
    static func basicRoundTrip(id: String, secret: String) throws(PropertyViolation) {
        guard !id.isEmpty, !id.utf8.contains(0), !secret.utf8.contains(0) else { return }
        let raw = ReferenceCoding.formEncode(id.utf8) + [UInt8(ascii: ":")] + ReferenceCoding.formEncode(secret.utf8)
        for scheme in ["Basic ", "basic ", "BASIC "] {
            let header = scheme + ReferenceCoding.base64(raw) + " "
            let form = FormFields(pairs: [("client_id", id)])
            let credentials: ClientCredentials
            do { credentials = try ClientCredentialsExtraction.extract(authorization: header, form: form) } catch {
                throw PropertyViolation("\(quoted(header)) (id \(quoted(id)), secret \(quoted(secret))) refused: \(error)")
            }
            try require(credentials.clientID == id && credentials.secret == secret && credentials.method == .clientSecretBasic,
                        "\(quoted(header)) decoded to \(credentials), sent id \(quoted(id)) secret \(quoted(secret))")
        }
    }
}
