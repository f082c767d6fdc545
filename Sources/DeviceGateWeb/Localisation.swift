#if canImport(Glibc)
import Glibc
#endif

/// Every language the pages speak: the built-in ones (`BuiltInMessages`), each completed or
/// replaced key by key by `<templates_dir>/<tag>.messages`, and any language an operator adds
/// there the same way. Loaded once when a worker starts; a problem in any file (a missing key,
/// a key English does not have, a placeholder that differs from English's, a syntax error)
/// fails the start and `devicegate check-config`, with every problem named at once.
///
/// Keys beginning with `scope_` are scope descriptions (`scope_profile = …`): any scope may
/// be described, in any language, and a language need not describe every scope.
public struct Localisation: Sendable {
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// By lowercase tag.
    public let catalogs: [String: MessageCatalog]
    /// The language of a person who asks for none we have.
    public let defaultLanguage: String
    /// Which files of the templates directory were read.
    public let overrides: [String]

    public init(directory: String?, defaultLanguage: String = "en") throws(LoadError) {
        var problems: [String] = []
        var parsed: [String: [String: String]] = [:]
        for (tag, text) in BuiltInMessages.all {
            do { parsed[tag] = try MessageFile.parse(text) } catch { problems.append("built-in messages \(tag): \(error)") }
        }
        // The reference is the built-in English, so an override of English is checked too.
        let reference = parsed["en"] ?? [:]
        var overrides: [String] = []
        var sources: [String: String] = [:]
        var overridden: [String: Set<String>] = [:]
        if let directory {
            for name in Self.messageFiles(in: directory) {
                let tag = String(name.dropLast(".messages".count)).lowercased()
                let path = "\(directory)/\(name)"
                guard LanguagePreference.isLanguageRange(tag), tag != "*" else {
                    problems.append("\(path): the file name must be a language tag (de.messages, pt-br.messages)")
                    continue
                }
                guard sources[tag] == nil else { problems.append("\(path): a second file for `\(tag)` (\(sources[tag]!))"); continue }
                guard let text = PageTemplates.readFile(path) else { problems.append("\(path): cannot be read"); continue }
                overrides.append(path)
                sources[tag] = path
                do {
                    let own = try MessageFile.parse(text)
                    // A key whose text is the built-in one (a file `devicegate templates` wrote
                    // and nobody changed there) is not the operator's: it does not shadow
                    // `web.scope_descriptions`.
                    let builtIn = parsed[tag] ?? [:]
                    parsed[tag, default: [:]].merge(own) { _, new in new }
                    overridden[tag] = Set(own.filter { builtIn[$0.key] != $0.value }.keys)
                } catch {
                    problems.append("\(path):\(error.line): \(error.reason)")
                }
            }
        }
        for (tag, messages) in parsed.sorted(by: { $0.key < $1.key }) {
            problems += Self.problems(of: messages, against: reference, source: sources[tag] ?? "built-in messages \(tag)")
        }
        let defaultTag = defaultLanguage.lowercased()
        if parsed[defaultTag] == nil {
            problems.append("web.default_language: no messages for `\(defaultLanguage)` (there are \(parsed.keys.sorted().joined(separator: ", ")))")
        }
        guard problems.isEmpty else { throw LoadError(problems: problems) }
        self.catalogs = parsed.reduce(into: [:]) {
            $0[$1.key] = MessageCatalog(tag: $1.key, messages: $1.value, overridden: overridden[$1.key] ?? [])
        }
        self.defaultLanguage = defaultTag
        self.overrides = overrides
    }

    /// Catalogs as they are, unchecked (tests).
    init(catalogs: [String: MessageCatalog], defaultLanguage: String, overrides: [String] = []) {
        self.catalogs = catalogs
        self.defaultLanguage = defaultLanguage
        self.overrides = overrides
    }

    /// What is wrong with one language's messages, measured against English's.
    static func problems(of messages: [String: String], against reference: [String: String], source: String) -> [String] {
        var problems: [String] = []
        let missing = reference.keys.filter { messages[$0] == nil && !$0.hasPrefix("scope_") }.sorted()
        if !missing.isEmpty { problems.append("\(source): missing \(missing.map { "`\($0)`" }.joined(separator: ", "))") }
        for key in messages.keys.sorted() {
            guard let english = reference[key] else {
                if !key.hasPrefix("scope_") { problems.append("\(source): `\(key)` is not a message key (a typo?)") }
                continue
            }
            let want = MessageFile.placeholders(in: english), have = MessageFile.placeholders(in: messages[key]!)
            if want != have {
                problems.append("\(source): `\(key)` has placeholders {\(have.sorted().joined(separator: "}, {"))} where English has {\(want.sorted().joined(separator: "}, {"))}")
            }
        }
        if let direction = messages["language_direction"], direction != "ltr", direction != "rtl" {
            problems.append("\(source): language_direction is `ltr` or `rtl`, not `\(direction)`")
        }
        return problems
    }

    /// The built-in languages alone, English by default (they are checked by the tests, so this
    /// cannot fail in a released build).
    public static let builtIn: Localisation = {
        do { return try Localisation(directory: nil) } catch { fatalError("the built-in messages are broken: \(error)") }
    }()

    /// The default language's catalog.
    public var fallback: MessageCatalog { catalogs[defaultLanguage]! }

    static func messageFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".messages"), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
