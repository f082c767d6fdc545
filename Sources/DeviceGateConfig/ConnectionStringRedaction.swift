/// Hides passwords in libpq connection strings and in any text that may quote one (an error
/// message, a log line): every message and log line that shows `storage.url` goes through it.
///
/// - URIs: `postgresql://user:secret@host/db` → `postgresql://user:***@host/db`, for every
///   `://` in the text. The password is everything between the user's `:` and the last `@`
///   before the query, so a password holding `@` or `/` is still hidden whole.
/// - `password=secret` (key=value strings, or a URI's query parameter) → `password=***`,
///   quoted values (`password='a b'`) included; `sslpassword=` (the client key's passphrase)
///   too.
public enum ConnectionStringRedaction {
    public static let mask = "***"

    public static func redact(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        for range in passwordRanges(s) {
            out.append(contentsOf: s[i..<range.lowerBound])
            out.append(contentsOf: mask.unicodeScalars)
            i = range.upperBound
        }
        out.append(contentsOf: s[i...])
        return String(out)
    }

    /// `text` redacted, with every occurrence of a password of `connectionString` (as
    /// written, and percent-decoded) hidden too: for messages from libpq or the server that
    /// might echo it in another shape.
    public static func scrub(_ text: String, of connectionString: String?) -> String {
        var result = redact(text)
        guard let connectionString else { return result }
        for secret in passwords(in: connectionString) { result = result.replacingAll(secret, with: mask) }
        return result
    }

    /// The passwords written in a connection string, raw and percent-decoded.
    static func passwords(in text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        return passwordRanges(s).flatMap { range -> [String] in
            var raw = String.UnicodeScalarView()
            raw.append(contentsOf: s[range])
            let value = String(raw)
            return [value, percentDecoded(value)]
        }.filter { !$0.isEmpty }
    }

    /// Where the passwords are, in order, not overlapping.
    private static func passwordRanges(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var i = 0
        let key = Array("password".unicodeScalars)
        while i < s.count {
            if i + 2 < s.count, s[i] == ":", s[i + 1] == "/", s[i + 2] == "/" {
                // A URI. Its userinfo ends where libpq ends it, at the first '@' before the
                // first '/' (so a password may hold '?', quotes or spaces), or, for a password
                // that holds an unencoded '@' or '/', at the last '@' of the token before any
                // '?'. Whichever reaches further is masked: masking too much is harmless.
                let start = i + 3
                var libpqEnd = start
                while libpqEnd < s.count, s[libpqEnd] != "@", s[libpqEnd] != "/", s[libpqEnd] != "\n" { libpqEnd += 1 }
                var tokenEnd = start
                while tokenEnd < s.count, !s[tokenEnd].properties.isWhitespace, s[tokenEnd] != "\"", s[tokenEnd] != "'" { tokenEnd += 1 }
                let queryStart = s[start..<tokenEnd].firstIndex(of: "?") ?? tokenEnd
                let ats = [libpqEnd < s.count && s[libpqEnd] == "@" ? libpqEnd : nil, s[start..<queryStart].lastIndex(of: "@")].compactMap { $0 }
                if let at = ats.max(), let colon = s[start..<at].firstIndex(of: ":") {
                    ranges.append((colon + 1)..<at)
                    i = at
                } else {
                    i = start
                }
                continue
            }
            let startsKey = i + key.count <= s.count
                && zip(s[i..<i + key.count], key).allSatisfy { String($0.0).lowercased() == String($0.1) }
            guard startsKey else { i += 1; continue }
            var j = i + key.count
            while j < s.count, s[j] == " " { j += 1 }
            guard j < s.count, s[j] == "=" else { i += 1; continue }
            j += 1
            while j < s.count, s[j] == " " { j += 1 }
            let valueStart = j
            if j < s.count, s[j] == "'" || s[j] == "\"" {
                let quote = s[j]
                j += 1
                while j < s.count, s[j] != quote { j += s[j] == "\\" ? 2 : 1 }
                j = min(j + 1, s.count)
            } else {
                while j < s.count, !s[j].properties.isWhitespace, s[j] != "&", s[j] != "\"", s[j] != "'" { j += 1 }
            }
            if j > valueStart { ranges.append(valueStart..<j) }
            i = max(j, i + 1)
        }
        return ranges
    }

    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        let u = Array(text.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let v = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(v); i += 3
            } else {
                bytes.append(u[i]); i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        let s = Array(unicodeScalars), t = Array(target.unicodeScalars)
        guard !t.isEmpty, s.count >= t.count else { return self }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + t.count <= s.count, Array(s[i..<i + t.count]) == t {
                out.append(contentsOf: replacement.unicodeScalars); i += t.count
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }
}
