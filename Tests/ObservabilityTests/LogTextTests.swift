import Logging
@testable import Observability
import Testing

/// Text-format log lines with hostile metadata (issue 10, item 10): a value from a request
/// must stay one value of one field on one line.
@Suite struct LogTextTests {
    static let hostile: [String] = [
        "alice",
        "alice admin=true",
        "eve\" user=root",
        "mallory\n2026-12-01T00:00:00+0000 info devicegate.worker: user=root [DeviceGateWeb] flow approved",
        "a=b=c",
        "back\\slash\\\" x=y",
        "\r\u{2028}\u{2029}\u{0085}\u{7F}\u{1B}[31m",
        "\u{202E}nimda",
        "",
        " ",
        "\"",
        "\\",
    ]

    /// Reads `key=value key="quoted \" value"` back, undoing `LogText.escaped`.
    static func parseFields(_ text: Substring) -> [(String, String)]? {
        var fields: [(String, String)] = []
        var rest = text[...]
        while !rest.isEmpty {
            guard rest.first == " " else { return nil }
            rest = rest.dropFirst()
            guard let eq = rest.firstIndex(of: "=") else { return nil }
            let key = String(rest[..<eq])
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\"" { closed = true; break }
                    if c == "\\" {
                        guard let e = rest.first else { return nil }
                        rest = rest.dropFirst()
                        switch e {
                        case "n": value += "\n"
                        case "r": value += "\r"
                        case "t": value += "\t"
                        case "u":
                            guard rest.first == "{", let close = rest.firstIndex(of: "}"),
                                  let v = UInt32(rest[rest.index(after: rest.startIndex)..<close], radix: 16),
                                  let scalar = Unicode.Scalar(v) else { return nil }
                            value.unicodeScalars.append(scalar)
                            rest = rest[rest.index(after: close)...]
                        default: value.append(e)
                        }
                    } else {
                        value.append(c)
                    }
                }
                guard closed else { return nil }
            } else {
                let end = rest.firstIndex(of: " ") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            fields.append((key, value))
        }
        return fields
    }

    @Test(arguments: hostile)
    func aHostileValueStaysOneFieldOnOneLine(_ value: String) throws {
        let line = StandardErrorLogHandler.textLine(
            timestamp: "2026-12-01T00:00:00+0000", level: .info, label: "devicegate.worker",
            metadata: ["remote.user": "\(value)", "request.id": "r1", "user": "\(value)"],
            source: "DeviceGateWeb", message: "signed in")
        let text = String(decoding: line, as: UTF8.self)
        // One line: the only line break (of any kind a reader may honour) is the last byte.
        #expect(text.last == "\n")
        #expect(!text.dropLast().unicodeScalars.contains { LogText.isUnsafe($0) })
        let prefix = "2026-12-01T00:00:00+0000 info devicegate.worker:"
        let suffix = " [DeviceGateWeb] signed in\n"
        #expect(text.hasPrefix(prefix) && text.hasSuffix(suffix))
        let middle = text.dropFirst(prefix.count).dropLast(suffix.count)
        let fields = try #require(Self.parseFields(middle[...]), "unparseable: \(text)")
        #expect(fields.map(\.0) == ["remote.user", "request.id", "user"])
        #expect(fields.map(\.1) == [value, "r1", value])
    }

    @Test(arguments: [
        ("alice", "alice"),
        ("alice admin=true", #""alice admin=true""#),
        ("eve\" user=root", #""eve\" user=root""#),
        ("line\nbreak", #""line\nbreak""#),
        ("", #""""#),
        ("\u{202E}x", #""\u{202e}x""#),
    ])
    func escapedForm(_ value: String, _ expected: String) {
        #expect(LogText.escaped(value) == expected)
    }

    @Test func aMessageCannotStartALineEither() {
        let line = StandardErrorLogHandler.textLine(timestamp: "t", level: .warning, label: "l", metadata: [:],
                                                    source: "S", message: "bad\ninfo forged line")
        #expect(String(decoding: line, as: UTF8.self) == "t warning l: [S] bad\\ninfo forged line\n")
    }
}
