import ArgumentParser
import DeviceFlow
import DirectoryStorage
import TokenSigning

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the token signing keys.",
        subcommands: [Generate.self, Rotate.self, List.self])

    struct AlgorithmOption: ParsableArguments {
        @Option(help: "RS256 or ES256 (default: tokens.signing_alg).") var alg: String?

        func algorithm(_ configured: String) throws -> SigningKey.Algorithm {
            guard let algorithm = SigningKey.Algorithm(rawValue: alg ?? configured) else { throw ValidationError("--alg must be RS256 or ES256") }
            return algorithm
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the first signing key, if there is none yet.")
        @OptionGroup var options: ConfigOptions
        @OptionGroup var algorithm: AlgorithmOption

        func run() throws {
            let config = try options.load()
            let files = try options.openStorage(config).application.keys
            guard try files.load().isEmpty else {
                print("a signing key already exists in \(files.location); use `devicegate keys rotate` to replace it")
                return
            }
            try KeyRing.ensureKey(files: files, algorithm: try algorithm.algorithm(config.tokens.signingAlgorithm), now: SystemClock().now())
            try List.print(files)
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new active key; the old one stays published until the tokens it signed have expired.")
        @OptionGroup var options: ConfigOptions
        @OptionGroup var algorithm: AlgorithmOption

        func run() throws {
            let config = try options.load()
            let files = try options.openStorage(config).application.keys
            let key = try KeyRing.rotate(files: files, algorithm: try algorithm.algorithm(config.tokens.signingAlgorithm), now: SystemClock().now(),
                                         maximumTokenLifetime: max(config.lifetimes.accessToken, config.tokens.idTokenLifetime))
            print("new active key \(key.kid) (\(key.algorithm.rawValue)); workers pick it up within a second")
            try List.print(files)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List signing keys: active, retired and still published.")
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            try List.print(try options.openStorage(config).application.keys)
        }

        static func print(_ files: any SigningKeyStorage) throws {
            let keys = try files.load()
            if keys.isEmpty { Swift.print("no signing keys in \(files.location)"); return }
            for key in keys {
                let state = key.retiredAt.map { "retired at \($0.seconds)" } ?? "active"
                Swift.print("\(key.kid)  \(key.alg)  created \(key.createdAt.seconds)  \(state)")
            }
        }
    }
}
