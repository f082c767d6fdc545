@testable import DeviceGateWeb
import Testing

/// RFC 4647 §3.4 lookup, `Accept-Language` (RFC 9110 §12.5.4) and `ui_locales` parsing, and
/// the order `Localisation.choose` asks its hints in.
@Suite struct LanguagePreferenceTests {
    @Test(arguments: [
        ("de-CH, fr;q=0.9, en;q=0.8", ["de-ch", "fr", "en"]),
        ("en;q=0.8, fr;q=0.9, de-CH", ["de-ch", "fr", "en"]),
        // Equal weights keep the header's order.
        ("fr;q=0.5, de;q=0.5, ja", ["ja", "fr", "de"]),
        // q=0 means "not acceptable" (RFC 9110 §12.4.2): left out.
        ("en;q=0, de", ["de"]),
        ("en;q=0.000, de;q=0.001", ["de"]),
        // `*` is kept as a range (lookup passes over it).
        ("*;q=0.5, fr", ["fr", "*"]),
        // Malformed qualities read as 0; malformed ranges are left out.
        ("de;q=2, fr;q=abc, it;q=0.0001, ja", ["ja"]),
        ("en-, 123, -de, de--ch, x_y, nl", ["nl"]),
        (" DE ; Q=0.7 ,\tEn-Gb ", ["en-gb", "de"]),
        ("", []),
        (",,;,", []),
        // A range of more than 35 bytes is no language tag (RFC 5646 §4.4.1).
        (String(repeating: "abcdefgh-", count: 4) + "abcd, es", ["es"]),
    ] as [(String, [String])])
    func acceptLanguageRanges(_ header: String, _ expected: [String]) {
        #expect(LanguagePreference.ranges(acceptLanguage: header) == expected)
    }

    /// At most 32 ranges are read: a 33rd is never looked at, whatever its weight.
    @Test func atMost32RangesAreRead() {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let filler: [String] = (0..<32).map { (n: Int) -> String in "a\(letters[n % 26])\(letters[n / 26]);q=0.1" }
        let header = (filler + ["de;q=1"]).joined(separator: ",")
        let ranges = LanguagePreference.ranges(acceptLanguage: header)
        #expect(ranges.count == 32)
        #expect(!ranges.contains("de"))
        #expect(LanguagePreference.ranges(acceptLanguage: (filler.dropLast() + ["de;q=1"]).joined(separator: ",")).first == "de")
    }

    @Test(arguments: [
        ("fr-CA fr en", ["fr-ca", "fr", "en"]),
        ("  de   ja ", ["de", "ja"]),
        ("de \"><b> ja", ["de", "ja"]),
        ("", []),
    ] as [(String, [String])])
    func uiLocalesRanges(_ value: String, _ expected: [String]) {
        #expect(LanguagePreference.ranges(uiLocales: value) == expected)
    }

    @Test(arguments: [
        (["de-ch"], ["en", "de"], "de"),
        (["de-ch"], ["en", "de-ch", "de"], "de-ch"),
        (["zh-hant-tw"], ["zh", "zh-hant"], "zh-hant"),
        (["zh-hant-tw"], ["zh"], "zh"),
        // §3.4: a single-letter subtag left at the end goes with the one after it.
        (["de-x-foo"], ["de-x", "de"], "de"),
        (["fr", "de"], ["en", "de"], "de"),
        (["*"], ["en"], nil),
        (["*", "ja"], ["ja"], "ja"),
        (["pt-br"], ["pt"], "pt"),
        (["pt"], ["pt-br"], nil),
        ([], ["en"], nil),
    ] as [([String], [String], String?)])
    func lookup(_ ranges: [String], _ available: [String], _ expected: String?) {
        #expect(LanguagePreference.lookup(ranges, in: Set(available)) == expected)
    }

    // MARK: The order of the hints

    /// Two languages: the built-in ones and one added by name only (its messages do not matter here).
    static let localisation: Localisation = {
        var catalogs = Localisation.builtIn.catalogs
        catalogs["xx"] = MessageCatalog(tag: "xx", messages: catalogs["en"]!.messages)
        catalogs["yy"] = MessageCatalog(tag: "yy", messages: catalogs["en"]!.messages)
        return Localisation(catalogs: catalogs, defaultLanguage: "en")
    }()

    @Test(arguments: [
        (Localisation.Request(chosen: "xx", uiLocales: "yy", cookie: "yy", acceptLanguage: "yy"), "xx"),
        (Localisation.Request(uiLocales: "yy", cookie: "xx", acceptLanguage: "xx"), "yy"),
        (Localisation.Request(cookie: "xx", acceptLanguage: "yy"), "xx"),
        (Localisation.Request(acceptLanguage: "yy;q=0.5, xx;q=0.9"), "xx"),
        (Localisation.Request(), "en"),
        // A hint naming no language we have is passed over, never an error.
        (Localisation.Request(chosen: "zz", uiLocales: "zz-qq", cookie: "\"><b>", acceptLanguage: "yy"), "yy"),
        (Localisation.Request(chosen: "XX"), "xx"),
        (Localisation.Request(cookie: "yy-extra"), "en"),
        (Localisation.Request(uiLocales: "yy-extra xx"), "yy"),
    ] as [(Localisation.Request, String)])
    func hintsAreAskedInOrder(_ request: Localisation.Request, _ expected: String) {
        #expect(Self.localisation.choose(request).tag == expected)
    }

    // MARK: Messages with placeholders

    @Test func markupEscapesTheMessageAndTheValuesAndEmphasisesOnlyNamedPlaceholders() {
        let catalog = MessageCatalog(tag: "en", messages: ["m": "<script>x</script> {client} & {other} {{literal}}"])
        let html = catalog.markup("m", ["client": "\"><b>", "other": "<i>"], emphasised: ["client"]).html
        #expect(html == "&lt;script&gt;x&lt;/script&gt; <strong class=\"client\">&quot;&gt;&lt;b&gt;</strong> &amp; &lt;i&gt; {literal}")
        #expect(catalog.text("m", ["client": "C", "other": "O"]) == "<script>x</script> C & O {literal}")
        // A placeholder without a value stays visible, escaped.
        #expect(catalog.markup("m", [:]).html.contains("{client}"))
    }
}
