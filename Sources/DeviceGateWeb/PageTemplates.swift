#if canImport(Glibc)
import Glibc
#endif
import Mustache

/// The page templates: the built-in ones, each replaced by `<templates_dir>/<name>.mustache`
/// when that file exists. Parsed once when a worker starts, so a broken override fails the
/// start (and `devicegate check-config`) instead of a request.
public struct PageTemplates: Sendable {
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let library: MustacheLibrary
    /// Which templates came from the override directory.
    public let overridden: [String]

    public init(directory: String?) throws(LoadError) {
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
                }
            }
            do {
                library.register(try MustacheTemplate(string: text), named: name)
            } catch let error as MustacheTemplate.ParserError {
                throw LoadError(description: "\(source):\(error.context.lineNumber):\(error.context.columnNumber): template error \(error.error)")
            } catch {
                throw LoadError(description: "\(source): template error \(error)")
            }
        }
        self.library = library
        self.overridden = overridden
    }

    public func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
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
