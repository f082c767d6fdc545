#if canImport(Glibc)
import Glibc
#endif
import Mustache

/// The page templates: the built-in ones, each replaced by `<templates_dir>/<name>.mustache`
/// when that file exists. Parsed once when a worker starts, so a broken override fails the
/// start (and `devicegate check-config`) instead of a request.
///
/// Every value is escaped by `HTMLEscaping.escape` on its way in (`render`, and
/// `PageTemplates+Escaping.swift` for why swift-mustache's own escaping is not used).
public struct PageTemplates: Sendable {
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let library: MustacheLibrary
    /// Which templates came from the override directory.
    public let overridden: [String]

    public init(directory: String?) throws(LoadError) {
        _ = Self.registerContentType
        var library = MustacheLibrary()
        var overridden: [String] = []
        for (name, builtIn) in DefaultTemplates.all {
            var text = builtIn
            var source = "built-in template \(name)"
            if let directory {
                let path = "\(directory)/\(name).mustache"
                if let custom = Self.readFile(path) {
                    text = custom
                    source = path
                    overridden.append(name)
                    if name == "consent", !custom.contains("flow_binding") {
                        throw LoadError(description: "\(path): the consent form must carry <input type=\"hidden\" name=\"flow\" value=\"{{flow_binding}}\">: a decision without it is refused (`devicegate templates --output DIR` writes the built-in one to start from)")
                    }
                    if name.hasPrefix("authorize_"), !custom.contains("authorization_request") {
                        throw LoadError(description: "\(path): every form of this page must carry <input type=\"hidden\" name=\"request\" value=\"{{authorization_request}}\">: without it the sign-in request is lost (`devicegate templates --output DIR` writes the built-in one to start from)")
                    }
                    if let (line, column) = Self.unquotedAttributeValue(in: custom) {
                        throw LoadError(description: "\(path):\(line):\(column): an attribute value from {{…}} must be quoted, as in value=\"{{name}}\": an escaped value is safe only inside quotes")
                    }
                }
            }
            do {
                library.register(try MustacheTemplate(string: Self.pragma + text), named: name)
            } catch let error as MustacheTemplate.ParserError {
                // One line up: the pragma line is ours.
                throw LoadError(description: "\(source):\(error.context.lineNumber - 1):\(error.context.columnNumber): template error \(error.error)")
            } catch {
                throw LoadError(description: "\(source): template error \(error)")
            }
        }
        self.library = library
        self.overridden = overridden
    }

    /// Renders `name` with `context`, every string in it HTML-escaped (`HTMLEscaping`).
    public func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(Self.escaped(context) ?? [:], withTemplate: name) ?? ""
    }

    /// Where an override puts `{{` straight after `=` (an unquoted attribute value), 1-based.
    static func unquotedAttributeValue(in text: String) -> (line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        var line = 1, column = 1
        var afterEquals = false
        for (i, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "{"), afterEquals, i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") { return (line, column) }
            if byte == UInt8(ascii: "=") { afterEquals = true } else if ![0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(byte) { afterEquals = false }
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return nil
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while bytes.count < 1 << 20 {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
