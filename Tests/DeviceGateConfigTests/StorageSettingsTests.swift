import DeviceGateConfig
import Testing

/// `storage:`: the default, the PostgreSQL settings, every error with its line and column,
/// the environment override, and no password in any message.
struct StorageSettingsTests {
    let loader = ConfigurationLoaderTests()
    static let lines = ConfigurationLoaderTests.valid.split(separator: "\n", omittingEmptySubsequences: false).count

    @Test func directoryIsTheDefault() throws {
        let storage = try loader.load(ConfigurationLoaderTests.valid).storage
        #expect(storage.backend == .directory)
        #expect(storage.url == nil)
        #expect(storage.connectTimeoutSeconds == 2)
        #expect(storage.statementTimeoutMilliseconds == 2_000)
    }

    @Test func postgresqlWithEveryKey() throws {
        let yaml = ConfigurationLoaderTests.valid + """

        storage:
          backend: postgresql
          url: postgresql://devicegate@db1,db2/devicegate?target_session_attrs=read-write
          connect_timeout: 3
          statement_timeout_ms: 1500
        """
        let storage = try loader.load(yaml).storage
        #expect(storage.backend == .postgresql)
        #expect(storage.url == "postgresql://devicegate@db1,db2/devicegate?target_session_attrs=read-write")
        #expect(storage.connectTimeoutSeconds == 3)
        #expect(storage.statementTimeoutMilliseconds == 1500)
    }

    @Test func keyValueConnectionStringsAreAccepted() throws {
        let yaml = ConfigurationLoaderTests.valid + "\nstorage:\n  backend: postgresql\n  url: host=db1,db2 dbname=devicegate target_session_attrs=read-write\n"
        #expect(try loader.load(yaml).storage.url == "host=db1,db2 dbname=devicegate target_session_attrs=read-write")
    }

    @Test func environmentOverridesTheURL() throws {
        let yaml = ConfigurationLoaderTests.valid + "\nstorage:\n  backend: postgresql\n  url: postgresql://devicegate@db1/devicegate\n"
        let env = ["DEVICEGATE_STORAGE_URL": "postgresql://devicegate:s3cret@db9/devicegate"]
        #expect(try loader.load(yaml, environment: env).storage.url == "postgresql://devicegate:s3cret@db9/devicegate")
        // The URL may come from the environment alone.
        let bare = ConfigurationLoaderTests.valid + "\nstorage:\n  backend: postgresql\n"
        #expect(try loader.load(bare, environment: env).storage.url == env["DEVICEGATE_STORAGE_URL"])
    }

    struct Case: Sendable, CustomStringConvertible {
        var yaml: String
        var environment: [String: String] = [:]
        var expected: String
        var description: String { expected }
    }

    static let errors: [Case] = [
        Case(yaml: "storage:\n  backend: sqlite\n", expected: "dg.yaml:\(lines + 2):12: storage.backend: expected directory or postgresql"),
        Case(yaml: "storage:\n  backend: postgresql\n  uri: x\n", expected: "dg.yaml:\(lines + 3):3: storage.uri: unknown key (expected one of: backend, connect_timeout, statement_timeout_ms, url)"),
        Case(yaml: "storage:\n  backend: postgresql\n",
             expected: "dg.yaml:\(lines + 2):12: storage.backend: postgresql needs storage.url (or DEVICEGATE_STORAGE_URL), e.g. postgresql://devicegate@db1,db2/devicegate?target_session_attrs=read-write"),
        Case(yaml: "storage:\n  url: postgresql://db1/devicegate\n",
             expected: "dg.yaml:\(lines + 2):8: storage.url: is used only with storage.backend: postgresql; the directory backend keeps its state in state_dir"),
        Case(yaml: "storage:\n  backend: directory\n", environment: ["DEVICEGATE_STORAGE_URL": "postgresql://db1/x"],
             expected: "environment DEVICEGATE_STORAGE_URL: storage.url: is used only with storage.backend: postgresql; the directory backend keeps its state in state_dir"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: just-a-name\n",
             expected: "dg.yaml:\(lines + 3):8: storage.url: expected a libpq connection URI (postgresql://user@host/dbname) or key=value string (host=… dbname=…)"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: [a, b]\n", expected: "dg.yaml:\(lines + 3):8: storage.url: expected a string"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: postgresql://db/x\n  connect_timeout: 1\n",
             expected: "dg.yaml:\(lines + 4):20: storage.connect_timeout: must be between 2 and 60"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: postgresql://db/x\n  statement_timeout_ms: fast\n",
             expected: "dg.yaml:\(lines + 4):25: storage.statement_timeout_ms: expected a whole number"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: postgresql://db/x\ntokens:\n  keys_dir: /etc/keys\n",
             expected: "dg.yaml:\(lines + 5):13: tokens.keys_dir: is not used with storage.backend: postgresql (the signing keys are in the database, shared by every host): remove it"),
        Case(yaml: "storage:\n  backend: postgresql\n", environment: ["DEVICEGATE_STORAGE_URL": "nothing"],
             expected: "environment DEVICEGATE_STORAGE_URL: storage.url: expected a libpq connection URI (postgresql://user@host/dbname) or key=value string (host=… dbname=…)"),
        Case(yaml: "storage: postgresql\n", expected: "dg.yaml:\(lines + 1):10: storage: expected a mapping"),
    ]

    @Test(arguments: errors) func errorsNameTheirLineAndColumn(_ c: Case) {
        let found = loader.issues(ConfigurationLoaderTests.valid + "\n" + c.yaml, environment: c.environment).map(\.description)
        #expect(found.contains(c.expected), "got \(found)")
    }

    static let secret = "Hunter2-very-secret"

    /// Every way a URL with a password can reach an error message: none shows the password.
    static let leaks: [Case] = [
        // A valid URL but the wrong backend.
        Case(yaml: "storage:\n  url: postgresql://dg:\(secret)@db1/dg\n", expected: "storage.url"),
        // A YAML syntax error on the URL's own line (Yams quotes the line).
        Case(yaml: "storage:\n  backend: postgresql\n  url: postgresql://dg:\(secret)@db1/dg: x\n", expected: "mapping values are not allowed"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: \"postgresql://dg:\(secret)@db1/dg\n  x: [\n", expected: "not valid YAML"),
        Case(yaml: "storage:\n  url: postgresql://dg:\(secret)@db1/dg\n  url2: {\n", expected: "not valid YAML"),
        Case(yaml: "storage:\n  backend: directory\n", environment: ["DEVICEGATE_STORAGE_URL": "host=db1 password=\(secret)"], expected: "storage.url"),
        Case(yaml: "storage:\n  backend: postgresql\n", environment: ["DEVICEGATE_STORAGE_URL": "postgresql://dg:\(secret)@db1/dg\u{1}"], expected: "control"),
        Case(yaml: "storage:\n  backend: postgresql\n  url: postgresql://dg:\(secret)@db1/dg\ntokens:\n  keys_dir: /k\n", expected: "keys_dir"),
    ]

    @Test(arguments: leaks) func noMessageShowsThePassword(_ c: Case) {
        let found = loader.issues(ConfigurationLoaderTests.valid + "\n" + c.yaml, environment: c.environment).map(\.description).joined(separator: "\n")
        #expect(found.contains(c.expected), "got \(found)")
        #expect(!found.contains(Self.secret), "leaked: \(found)")
    }

    static let redactions: [(String, String)] = [
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        // libpq reads the userinfo to the first '@' before the first '/': '?' and quotes are the password's.
        ("postgresql://u:pa?ss'x\"y@h/db", "postgresql://u:***@h/db"),
        ("postgres://user:p@ss/w:rd@db1:5432,db2/dg?target_session_attrs=read-write",
         "postgres://user:***@db1:5432,db2/dg?target_session_attrs=read-write"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("postgresql://host/db?user=u&password=pw&sslmode=require", "postgresql://host/db?user=u&password=***&sslmode=require"),
        ("host=db1 user=u password=pw dbname=dg", "host=db1 user=u password=*** dbname=dg"),
        ("host=db1 password = 'p w \\' x' dbname=dg", "host=db1 password = *** dbname=dg"),
        ("PASSWORD=pw", "PASSWORD=***"),
        ("connect to postgresql://a:b@c/d failed", "connect to postgresql://a:***@c/d failed"),
        ("sslpassword=x old_password_file=y", "sslpassword=*** old_password_file=y"),
    ]

    @Test(arguments: redactions) func redactionHidesEveryPassword(_ input: String, _ expected: String) {
        #expect(ConnectionStringRedaction.redact(input) == expected)
    }

    @Test func scrubHidesThePasswordWhereverItIsEchoed() {
        let url = "postgresql://dg:p%40ss@db/dg"
        #expect(ConnectionStringRedaction.scrub("server said p@ss and p%40ss", of: url) == "server said *** and ***")
        #expect(ConnectionStringRedaction.scrub("nothing here", of: "host=db") == "nothing here")
    }

    @Test func redactedURLOfTheSettings() throws {
        let yaml = ConfigurationLoaderTests.valid + "\nstorage:\n  backend: postgresql\n  url: postgresql://dg:pw@db/dg\n"
        #expect(try loader.load(yaml).storage.redactedURL == "postgresql://dg:***@db/dg")
    }
}
