/// Which of the languages we have a person asked for, RFC 4647 §3.4 "Lookup": each range in
/// order of preference is tried as is, then with its last subtag removed ("de-ch" → "de"),
/// until one is available. `*` and ranges with a quality of 0 match nothing.
public enum LanguagePreference {
    /// The ranges of an `Accept-Language` header (RFC 9110 §12.5.4), best first (stable for
    /// equal weights), lowercased; those with q=0 and malformed ones left out. At most 32 are
    /// read, each at most 35 bytes (RFC 5646 §4.4.1's advice for a tag).
    public static func ranges(acceptLanguage header: String) -> [String] {
        var weighted: [(range: String, quality: Int, position: Int)] = []
        for (position, item) in header.split(separator: ",").prefix(32).enumerated() {
            let parts = item.split(separator: ";")
            guard let first = parts.first else { continue }
            let range = first.filter { $0 != " " && $0 != "\t" }.lowercased()
            guard isLanguageRange(range) else { continue }
            var quality = 1000
            for parameter in parts.dropFirst() {
                let p = parameter.filter { $0 != " " && $0 != "\t" }.lowercased()
                guard p.hasPrefix("q=") else { continue }
                quality = Self.quality(String(p.dropFirst(2))) ?? 0
            }
            if quality > 0 { weighted.append((range, quality, position)) }
        }
        return weighted.sorted { ($0.quality, -$0.position) > ($1.quality, -$1.position) }.map(\.range)
    }

    /// `ui_locales` (OpenID Connect Core §3.1.2.1): space-separated tags, best first.
    public static func ranges(uiLocales: String) -> [String] {
        uiLocales.split(separator: " ").prefix(32).map { $0.lowercased() }.filter(isLanguageRange)
    }

    /// RFC 4647 §3.4 lookup of `ranges` (lowercase) in `available` (lowercase tags).
    public static func lookup(_ ranges: [String], in available: Set<String>) -> String? {
        for range in ranges where range != "*" {
            var candidate = Substring(range)
            while !candidate.isEmpty {
                if available.contains(String(candidate)) { return String(candidate) }
                guard let dash = candidate.lastIndex(of: "-") else { break }
                candidate = candidate[..<dash]
                // §3.4: a single-letter subtag left at the end goes with the one after it.
                if let before = candidate.lastIndex(of: "-"), candidate.distance(from: before, to: candidate.endIndex) == 2 {
                    candidate = candidate[..<before]
                }
            }
        }
        return nil
    }

    /// `*`, or 1–8 letters then `-`-separated subtags of 1–8 letters or digits; 35 bytes at most.
    static func isLanguageRange(_ range: String) -> Bool {
        if range == "*" { return true }
        guard (1...35).contains(range.utf8.count) else { return false }
        let subtags = range.split(separator: "-", omittingEmptySubsequences: false)
        guard let primary = subtags.first, (1...8).contains(primary.count), primary.utf8.allSatisfy({ (0x61...0x7A).contains($0) }) else { return false }
        return subtags.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) } }
    }

    /// RFC 9110 §12.4.2 `qvalue` in thousandths: "0", "0.5", "1", "1.000"; nil if malformed.
    static func quality(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0] == "0" || parts[0] == "1" else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 3, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let value = Int(parts[0])! * 1000 + Int(fraction.padding(toLength: 3))!
        return value <= 1000 ? value : nil
    }
}

private extension Substring {
    func padding(toLength length: Int) -> String { String(self) + String(repeating: "0", count: Swift.max(0, length - count)) }
}
