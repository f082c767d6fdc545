#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DeviceFlow
import DeviceGateConfig
import DeviceGateWeb
import DirectoryStorage
import PostgresStorage
import Observability

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration; print every problem with its file:line:column.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        print("\(options.path): OK")
        print("  issuer           \(config.issuer)")
        print("  state_dir        \(config.stateDirectory)")
        switch config.storage.backend {
        case .directory:
            print("  storage          directory (state_dir)")
        case .postgresql:
            print("  storage          postgresql \(config.redactedStorageURL) (connect_timeout \(config.storage.connectTimeoutSeconds) s, statement_timeout \(config.storage.statementTimeoutMilliseconds) ms; signing keys in the database)")
            // One line and exit 1 for an unreachable database or refused credentials; the
            // schema's state is reported (db migrate needs this configuration to be valid).
            let finding = DatabaseReadiness.check(PostgresConnection(settings: config.postgresSettings))
            switch finding {
            case .unreachable, .credentialsRefused:
                printError(DatabaseReadiness.line(finding, config: config, configPath: options.path))
                throw ExitCode(1)
            case .ready:
                print("  database         reachable, credentials accepted; \(PostgresSchema.Status.current)")
            case .schema(let status):
                print("  database         reachable, credentials accepted; \(DatabaseReadiness.schemaAdvice(status, configPath: options.path))")
                if case .newer = status { throw ExitCode(1) }
            }
        }
        print("  listen           \(config.server.listen) (\(config.server.workers) workers)")
        let peers = config.server.allowRemoteFastCGI.isEmpty ? "unix socket or loopback only" : config.server.allowRemoteFastCGI.joined(separator: ", ")
        print("  fastcgi peers    \(peers); read timeout \(config.server.requestReadTimeout) s")
        print("  verification_uri \(config.verificationURI)")
        print("  user codes       \(config.userCode.length) × \(config.userCode.charset.rawValue) (\(Int(config.userCode.entropyBits)) bits)")
        for client in config.clients {
            print("  client           \(client.clientID) (\(client.isConfidential ? "confidential" : "public")) scopes: \(client.allowedScopes)")
        }
        print("  sign-in          \(config.web.signIn.rawValue)\(config.web.signIn == .embedded ? " (users file \(config.web.usersFile))" : " (DEVICEGATE_REMOTE_USER from nginx)")")
        do {
            let templates = try PageTemplates(directory: config.web.templatesDirectory)
            if !templates.overridden.isEmpty { print("  templates        overridden: \(templates.overridden.joined(separator: ", "))") }
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        do {
            let languages = try Localisation(directory: config.web.templatesDirectory, defaultLanguage: config.web.defaultLanguage)
            print("  languages        \(languages.languages.map(\.tag).joined(separator: ", ")); default_language \(languages.defaultLanguage)")
            if !languages.overrides.isEmpty { print("  messages         from \(languages.overrides.joined(separator: ", "))") }
        } catch {
            for problem in error.problems { printError(problem) }
            throw ExitCode(2)
        }
        if config.web.signIn == .embedded {
            if let text = readTextFile(config.web.usersFile) {
                let parsed = UsersFile.parse(text)
                for line in parsed.badLines { printError("\(config.web.usersFile):\(line): warning: not a name:hash line; ignored") }
                for entry in parsed.file.entries where !PasswordHashing.isAccepted(entry.hash) {
                    printError("\(config.web.usersFile): warning: \(entry.name) has an unsupported hash (use bcrypt or yescrypt: devicegate users add \(entry.name))")
                }
                print("  users            \(parsed.file.entries.count) in \(config.web.usersFile)")
                // Unknown names are verified against a decoy of the most common cost setting:
                // users of another setting take another time, which tells their names apart.
                let settings = Set(parsed.file.entries.compactMap { PasswordHashing.costSetting(of: $0.hash).map { $0.prefix } })
                if settings.count > 1 {
                    printError("\(config.web.usersFile): warning: the hashes use \(settings.count) cost settings (\(settings.sorted().joined(separator: ", "))); sign-in time tells users of the less common ones apart from unknown names: rehash them with one method (devicegate users add NAME, or htpasswd -B for all)")
                }
            } else {
                printError("\(config.web.usersFile): warning: cannot read the users file; nobody can sign in (devicegate users add NAME creates it)")
            }
        }
        let perIP = config.web.limits.userCodePerIP, global = config.web.limits.userCodeGlobal
        print("  user-code limits \(perIP.maximum) failures/\(perIP.windowSeconds)s per IP, \(global.maximum)/\(global.windowSeconds)s overall")
        let limits = config.web.limits
        print("  sign-in limits   \(limits.signInPerUser.maximum)/\(limits.signInPerUser.windowSeconds)s per user, \(limits.signInPerIP.maximum)/\(limits.signInPerIP.windowSeconds)s per IP, \(limits.signInPerIPv6Prefix48.maximum)/\(limits.signInPerIPv6Prefix48.windowSeconds)s per IPv6 /48, \(limits.signInGlobal.maximum)/\(limits.signInGlobal.windowSeconds)s overall")
        print("  password hashes  at most \(config.web.passwordHashSlots.map(String.init) ?? "auto (\(max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) / 2)))") at once on this host, waiting \(config.web.passwordHashWaitMilliseconds) ms for a slot")
    }
}

/// Shared by approve and deny: load, open, act, report.
private func decide(_ options: ConfigOptions, userCode: String, verb: String, subject: String?,
                    _ action: (FlowService, UnixTime) throws -> Result<DeviceFlowRecord, DecisionRefusal>) throws {
    let config = try options.load()
    let storage = try options.openStorage(config)
    let telemetry = try makeTelemetry(config, storage: storage, logger: makeLogger("devicegate", level: config.server.logLevel))
    let service = FlowService(store: storage.application.flows, clients: config.clientRegistry, policy: config.flowPolicy,
                              issuer: OpaqueTokenIssuer(accessTokenLifetime: config.lifetimes.accessToken))
    let result: Result<DeviceFlowRecord, DecisionRefusal>
    do {
        result = try action(service, SystemClock().now())
    } catch {
        printError("devicegate: \(config.describe(error))")
        throw ExitCode(1)
    }
    switch result {
    case .success(let record):
        // The person at the keyboard, and the subject the tokens will name (approve only).
        var details = [("via", "cli"), ("operator", commandUser())]
        if let subject { details.append(("subject", subject)) }
        telemetry.record(AuditEvent(subject != nil ? .flowApproved : .flowDenied, time: SystemClock().now(), address: "local",
                                    user: subject ?? commandUser(), clientID: record.clientID, flowID: record.id,
                                    scope: "\(record.scope)", details: details))
        print("\(verb) \(config.userCode.display(config.userCode.normalize(userCode) ?? userCode)) for client \(record.clientID) (scope: \(record.scope))")
    case .failure(let refusal):
        printError("devicegate: \(refusal)")
        throw ExitCode(1)
    }
}

struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve a pending device flow by its user code (RFC 8628 §3.3).")

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The user code shown on the device, e.g. WDJB-MJHT.") var userCode: String
    @Option(help: "The subject (user id) the tokens are issued to.") var subject: String

    func validate() throws {
        guard !subject.isEmpty, subject.utf8.count <= 255 else { throw ValidationError("--subject must be 1 to 255 bytes") }
        guard !subject.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("--subject must not contain control characters")
        }
    }

    func run() throws {
        try decide(options, userCode: userCode, verb: "approved", subject: subject) { service, now in
            try service.approve(userCode: userCode, subject: subject, authTime: now, now: now)
        }
    }
}

struct DenyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deny", abstract: "Deny a pending device flow: its next poll gets access_denied.")

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The user code shown on the device.") var userCode: String

    func run() throws {
        try decide(options, userCode: userCode, verb: "denied", subject: nil) { service, now in
            try service.deny(userCode: userCode, now: now)
        }
    }
}

struct GarbageCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove expired flows, user-code entries, tokens and crash leftovers now.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let storage = try options.openStorage(config)
        let now = SystemClock().now()
        guard case .directory(let store, let webStore) = storage.backend else {
            if case .postgresql(_, let flows, let web) = storage.backend {
                // The same collection as the hosts' housekeeping; safe beside it (it removes
                // only what has expired).
                print(SharedHousekeeper.collect(flows: flows, webState: web, admission: storage.application.admissionCounters as? PostgresAdmissionCounters,
                                                now: now, retentionSeconds: config.lifetimes.expiredRetention))
            }
            return
        }
        let report = store.collectGarbage(now: now, retentionSeconds: config.lifetimes.expiredRetention,
                                          shards: 0..<StateDirectory.shardCount)
        let web = webStore.collectGarbage(now: now, shards: 0..<StateDirectory.shardCount)
        let admission = FileAdmissionCounters(directory: store.directory).collectGarbage(now: now, shards: 0..<StateDirectory.shardCount)
        // After a crash the journal may stand for records that are not on disk: replay it
        // before the checkpoint removes it (a socket-activated `serve` may not have started yet).
        _ = try store.recoverJournal(now: now)
        let logs = try store.checkpointJournal(now: now)
        print("\(report); \(web.sessions) sessions, \(web.counters) counters, \(admission) admission counters; \(logs) journal logs checkpointed")
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Summarise the stored state: flows by state, tokens, revocations (and, on the directory backend, locks held and disk used).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let storage = try options.openStorage(config)
        print("state_dir    \(config.stateDirectory)")
        switch storage.backend {
        case .directory(let store, _):
            print(store.summary(now: SystemClock().now()))
        case .postgresql(_, let flows, _):
            print("storage      postgresql \(config.redactedStorageURL), \(PostgresSchema.Status.current)")
            let s: PostgresSummary
            do {
                s = try flows.summary(now: SystemClock().now())
            } catch {
                printError("devicegate: \(config.describe(error))")
                throw ExitCode(1)
            }
            print("flows        \(s.pendingFlows) pending, \(s.approvedFlows) approved, \(s.deniedFlows) denied, \(s.redeemedFlows) redeemed, \(s.expiredFlows) expired")
            print("tokens       \(s.accessTokens) access tokens, \(s.refreshFamilies) refresh families, \(s.revocations) revocations")
        }
    }
}

struct HashSecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-secret",
        abstract: "Print the secret_hash for a confidential client.",
        discussion: """
        Reads the secret from standard input, or with --generate draws a new 256-bit secret and prints both. \
        A secret under 128 bits of estimated entropy (RFC 6749 §10.10) is refused unless --force is given.
        """)

    @Flag(help: "Generate a new secret.") var generate = false
    @Flag(help: "Hash a secret from standard input even if its estimated entropy is under 128 bits.") var force = false

    func run() throws {
        let secret: String
        if generate {
            secret = Encoding.base64URL(SystemSecureRandom().bytes(32))
            print("client_secret: \(secret)")
        } else {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                printError("devicegate: no secret on standard input")
                throw ExitCode(1)
            }
            let bits = Int(SecretStrength.estimatedBits(line))
            if bits < SecretStrength.minimumBits && !force {
                printError("devicegate: this secret has about \(bits) bits of estimated entropy; a client secret needs at least \(SecretStrength.minimumBits) (RFC 6749 §10.10). Use --generate for a random 256-bit secret, or --force to hash this one anyway")
                throw ExitCode(1)
            }
            secret = line
        }
        print("secret_hash: sha256:\(Encoding.sha256Hex(secret))")
    }
}

struct DemoConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-config",
        abstract: "Write a ready-to-run demo configuration with a public and a confidential client.")

    @Option(help: "Directory for devicegate.yaml and the state directory.") var output: String
    @Option(help: "Issuer URL.") var issuer = "http://127.0.0.1:8080/application/o/devicegate/"
    @Option(help: "FastCGI listen address.") var listen: String?
    @Option(help: "Worker processes.") var workers = 4

    func run() throws {
        let dir = absolutePath(output)
        mkdir(dir, 0o755)
        let secret = Encoding.base64URL(SystemSecureRandom().bytes(32))
        // A demo person for the verification page, with a generated password.
        let demoPassword = Encoding.base64URL(SystemSecureRandom().bytes(12))
        guard let demoHash = PasswordHashing.hash(demoPassword) else {
            printError("devicegate: libcrypt could not hash the demo password")
            throw ExitCode(1)
        }
        let loopback = ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/"].contains { issuer.hasPrefix($0) }
        let yaml = """
        # devicegate demo configuration (written by `devicegate demo-config`).
        issuer: \(issuer)
        state_dir: \(dir)/state
        server:
          listen: \(listen ?? "unix:\(dir)/devicegate.sock")
          workers: \(workers)
          socket_mode: "0666"   # demo only: lets nginx's unprivileged workers connect
          log_level: info
        lifetimes:
          device_code: 600
          poll_interval: 5
          access_token: 3600
        user_code:
          length: 8
          charset: base20
        web:
          sign_in: embedded
          users_file: \(dir)/htpasswd
          product_name: devicegate demo
        \(loopback ? "  # plain http on 127.0.0.1 only: cookies without Secure / __Host-\n  insecure_development_cookies: true\n" : "")users:
          demo:
            name: Demo User
            email: demo@example.com
            email_verified: true
          alice:
            name: Alice Example
            email: alice@example.com
            email_verified: true
            groups: [demo]
        tokens:
          format: jwt          # RFC 9068 access tokens; "opaque" checks each one in the state directory
          signing_alg: RS256
        clients:
          - client_id: demo-tv
            name: Demo TV
            type: public
            allowed_scopes: [openid, profile, email, offline_access]
            default_scopes: [openid]
          - client_id: demo-cli
            name: Demo CLI
            type: confidential
            secret_hash: sha256:\(Encoding.sha256Hex(secret))
            allowed_scopes: [openid, profile, email]
            default_scopes: [openid]
            introspection: true  # a resource server: may introspect other clients' tokens (RFC 7662)

        """
        guard let file = fopen("\(dir)/devicegate.yaml", "w") else {
            printError("devicegate: cannot write \(dir)/devicegate.yaml: \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        fputs(yaml, file)
        fclose(file)
        let usersPath = "\(dir)/htpasswd"
        // Every write checked and fsynced, and replaced whole: a demo directory made again
        // never keeps a torn or empty password file.
        try UsersAddCommand.writeAtomically(usersPath, "demo:\(demoHash)\n", like: nil)
        print("config: \(dir)/devicegate.yaml")
        print("demo sign-in: username demo, password \(demoPassword)")
        print("demo-cli client_secret: \(secret)")
    }
}
