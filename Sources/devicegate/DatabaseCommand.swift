#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceGateConfig
import PostgresStorage

/// `devicegate db`: the PostgreSQL backend's schema.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the PostgreSQL schema of storage.backend: postgresql.",
        subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or upgrade the schema in storage.url to this binary's version.",
            discussion: """
            Idempotent, and safe when several hosts run it at once: the second waits for the first \
            and finds nothing left to do. Refuses a schema written by a newer devicegate. Run it \
            before starting the first host, and before each upgraded host's serve.
            """)

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            guard config.storage.backend == .postgresql else {
                printError("devicegate: \(options.path) uses storage.backend: directory, whose state_dir needs no migration; db migrate is for storage.backend: postgresql")
                throw ExitCode(1)
            }
            let connection = try options.openDatabase(config, requireCurrentSchema: false)
            // CREATE … IF NOT EXISTS of an existing table is a NOTICE; an operator reads only
            // the one line below (a failure is an error, and still shown).
            try? connection.executeScript("SET client_min_messages = warning")
            do {
                // Safe beside another host's migrate (`PostgresSchema.migrate`: the bootstrap
                // retries a creation race, the version row is locked for the whole migration).
                let (from, to) = try PostgresSchema.migrate(connection)
                print("schema at version \(to) (was \(from))")
            } catch {
                printError("devicegate: db migrate on \(config.redactedStorageURL) failed: \(config.describe(error))")
                throw ExitCode(1)
            }
        }
    }
}
