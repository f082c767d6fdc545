import DeviceGateFuzzing
import DeviceGateTesting
import Testing

/// The checked-in seed corpus (Tests/Fuzz/corpus/<target>/), run through the same properties
/// the fuzzer checks, so every `swift test` replays it — including every input that once
/// found a bug.
struct CorpusTests {
    static let corpus: String = {
        var path = #filePath
        path = String(path[..<path.lastIndex(of: "/")!])   // Tests/FuzzTests
        path = String(path[..<path.lastIndex(of: "/")!])   // Tests
        return path + "/Fuzz/corpus"
    }()

    static func files(_ target: FuzzTarget) -> [String] { InputFiles.list("\(corpus)/\(target.rawValue)") }

    @Test(arguments: FuzzTarget.allCases.filter { $0 != .app && $0 != .bearerToken })
    func seeds(_ target: FuzzTarget) throws {
        let files = Self.files(target)
        #expect(files.count >= 5, "\(target.rawValue): no seed corpus in \(Self.corpus)")
        for file in files {
            let bytes = try #require(InputFiles.read(file))
            #expect(throws: Never.self, "\(file)") { try target.run(bytes) }
        }
    }

    @Test func bearerTokenSeeds() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        for file in Self.files(.bearerToken) {
            let bytes = try #require(InputFiles.read(file))
            #expect(throws: Never.self, "\(file)") { try BearerTokenProperties.check(bytes, in: harness) }
        }
    }

    @Test func appSeeds() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let harness = try AppHarness(root: temp.path)
        let files = Self.files(.app)
        #expect(files.count >= 20)
        for file in files {
            let bytes = try #require(InputFiles.read(file))
            #expect(throws: Never.self, "\(file)") { try harness.check(bytes) }
        }
    }
}
