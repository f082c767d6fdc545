#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateWeb
import DirectoryStorage
import HostFiles

struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage the users file of embedded sign-in (htpasswd format).",
        subcommands: [UsersAddCommand.self, UsersRemoveCommand.self])
}

struct UsersAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a user, or set a user's password, in the users file.",
        discussion: """
        Prompts for the password twice when standard input is a terminal; otherwise reads one line \
        from standard input (printf '%s\\n' "$PASSWORD" | devicegate users add NAME). The file is \
        web.users_file of the configuration, or --file. The hash is yescrypt (or bcrypt with \
        --bcrypt) from the system's libcrypt; htpasswd -B and mkpasswd write compatible lines.
        """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "The users file (default: web.users_file of the configuration).") var file: String?
    @Flag(help: "Hash with bcrypt ($2b$) instead of yescrypt ($y$).") var bcrypt = false
    @Argument(help: "The username: 1-64 letters, digits and . _ @ + -") var name: String

    func validate() throws {
        guard UsersFile.isValidUsername(name) else { throw ValidationError("the username must be 1-64 letters, digits and . _ @ + -") }
    }

    func run() throws {
        let path = try file ?? options.load().web.usersFile
        let password = try readPassword()
        guard let hash = PasswordHashing.hash(password, method: bcrypt ? .bcrypt : .yescrypt) else {
            printError("devicegate: libcrypt could not hash the password")
            throw ExitCode(1)
        }
        var users = UsersFile()
        var existing: stat?
        var st = stat()
        if stat(path, &st) == 0 {
            existing = st
            guard let text = readTextFile(path) else {
                printError("devicegate: cannot read \(path): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            users = UsersFile.parse(text).file
        }
        let replaced = users.hash(for: name) != nil
        users.set(name, hash: hash)
        try Self.writeAtomically(path, users.rendered(), like: existing)
        print("\(replaced ? "updated" : "added") \(name) in \(path)")
    }

    private func readPassword() throws -> String {
        if isatty(0) == 1 {
            guard let first = prompt("Password for \(name): "), !first.isEmpty else {
                printError("devicegate: empty password"); throw ExitCode(1)
            }
            guard let second = prompt("Again: "), second == first else {
                printError("devicegate: the passwords do not match"); throw ExitCode(1)
            }
            return first
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            printError("devicegate: no password on standard input")
            throw ExitCode(1)
        }
        return line
    }

    /// Reads a line from the terminal with echo off.
    private func prompt(_ text: String) -> String? {
        printError(text, newline: false)
        var saved = termios()
        tcgetattr(0, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(0, TCSAFLUSH, &saved)
            printError("")
        }
        return readLine(strippingNewline: true)
    }

    /// The state directory's atomic write (`AtomicFile`): temp file in the same directory,
    /// fsync, rename, fsync of the directory; a crash leaves the old file or the new. A new
    /// file is 0600; an existing file keeps its mode and owner (the service user must still
    /// read it).
    static func writeAtomically(_ path: String, _ text: String, like existing: stat?) throws {
        do {
            try AtomicFile.replace(path, with: Array(text.utf8), mode: 0o600, like: existing)
        } catch let error as FlowStorageError {
            printError("devicegate: cannot write \(path): \(String(cString: strerror(error.errno ?? EIO)))")
            throw ExitCode(1)
        }
    }
}

struct TemplatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates",
        abstract: "Write the built-in page templates and message files to a directory, to customise them.",
        discussion: "Copy the ones you change into web.templates_dir; a NAME.mustache there replaces the built-in template of the same name, a TAG.messages completes or overrides that language's messages key by key (or adds a language).")

    @Option(help: "Directory to write NAME.mustache and TAG.messages files into (created if missing).") var output: String

    func run() throws {
        mkdir(output, 0o755)
        let files = DefaultTemplates.all.map { ("\($0.name).mustache", $0.text) } + BuiltInMessages.all.map { ("\($0.tag).messages", $0.text + "\n") }
        for (name, text) in files {
            let path = "\(output)/\(name)"
            guard let file = fopen(path, "w") else {
                printError("devicegate: cannot write \(path): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            fputs(text, file)
            fclose(file)
            print(path)
        }
    }
}
