import DeviceFlow
import DirectoryStorage
import PostgresStorage

/// Everything the application keeps between requests and shares with the other workers: what
/// `DeviceGateApp.assemble` wires the endpoints and the page to.
public struct ApplicationStorage {
    /// Flows, user-code claims, tokens, refresh families and revocations.
    public var flows: any FlowStorage
    /// The verification page's sessions, attempt counters and hash slots.
    public var webState: any WebStateStorage
    /// The signing keys (`tokens.keys_dir`, or the database).
    public var keys: any SigningKeyStorage
    /// Where the caps on pending flows are counted (`admission:`); nil counts nothing.
    public var admissionCounters: (any FlowAdmissionCounters)?
    /// Reads the state filesystem's free blocks and inodes for `admission.reserve_percent`;
    /// nil keeps no reserve.
    public var filesystemReading: (() -> FilesystemReading?)?
    /// This host's `state_dir`, whatever the backend: the counter pages in its `metrics/`
    /// are what the metrics endpoint adds up.
    public var hostDirectory: String
    /// Where unknown device codes and refresh tokens are counted between their audit lines
    /// (`Telemetry.shareUnknownCredentials`): the backend's tables, shared by its workers
    /// (and hosts). Empty counts in each process only.
    public var unknownCodeTables: [UnknownCredential: any UnknownCodeCounting]

    public init(flows: any FlowStorage, webState: any WebStateStorage, keys: any SigningKeyStorage, admissionCounters: (any FlowAdmissionCounters)?,
                filesystemReading: (() -> FilesystemReading?)?, hostDirectory: String,
                unknownCodeTables: [UnknownCredential: any UnknownCodeCounting] = [:]) {
        self.flows = flows
        self.webState = webState
        self.keys = keys
        self.admissionCounters = admissionCounters
        self.filesystemReading = filesystemReading
        self.hostDirectory = hostDirectory
        self.unknownCodeTables = unknownCodeTables
    }

    /// The state directory of `devicegate worker`: the flow and web stores over it, the key
    /// directory (`tokens.keys_dir`), and the admission counters, reserve, unknown-code tables
    /// and counter pages of the state directory itself.
    public static func stateDirectory(flows: FileFlowStore, webState: FileWebStateStore, keys: KeyFiles) -> ApplicationStorage {
        let directory = flows.directory
        return ApplicationStorage(flows: flows, webState: webState, keys: keys, admissionCounters: FileAdmissionCounters(directory: directory),
                                  filesystemReading: { directory.filesystemReading() }, hostDirectory: directory.root,
                                  unknownCodeTables: FileUnknownCodeCounts.tables(in: directory))
    }

    /// `storage.backend: postgresql`: every shared store over the one connection of this
    /// process (a worker opens its own after it starts; none is inherited). What stays on the
    /// host is `hostDirectory` (`state_dir`: audit log, counter pages) and the password-hash
    /// `slots`, which bound this host's CPU (`FileWebStateStore.claimSlot` of its state
    /// directory). Signing keys are in the database (`tokens.keys_dir` is not used), so every
    /// host signs with the same key and publishes the same JWKS. No storage reserve: statvfs
    /// of a local disk says nothing about the database's.
    public static func postgres(connection: PostgresConnection, hostDirectory: String,
                                slots: @escaping (_ pool: String, _ count: Int) throws -> (any SlotClaim)?) throws -> ApplicationStorage {
        let flows = try PostgresFlowStore(connection: connection)
        let webState = try PostgresWebStateStore(connection: connection, flows: flows, slots: slots)
        return ApplicationStorage(flows: flows, webState: webState, keys: PostgresKeyStore(connection: connection),
                                  admissionCounters: PostgresAdmissionCounters(connection: connection), filesystemReading: nil,
                                  hostDirectory: hostDirectory, unknownCodeTables: PostgresUnknownCodeCounts.tables(connection: connection))
    }
}
