#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import PostgresStorage
import Testing

/// One backend under test: everything the workers share, and a way to open it again as
/// another worker would (another process for the file store; the same object in memory).
final class BackendInstance {
    let flows: any FlowStorage & ExpiredStateCollecting
    let web: any WebStateStorage & WebStateCollecting
    let admission: any FlowAdmissionCounters
    let unknownCodes: any UnknownCodeCounting
    let keys: any SigningKeyStorage
    /// The flow store as a second worker opens it.
    let reopen: () throws -> any FlowStorage
    private let cleanup: () -> Void

    init(flows: any FlowStorage & ExpiredStateCollecting, web: any WebStateStorage & WebStateCollecting, admission: any FlowAdmissionCounters,
         unknownCodes: any UnknownCodeCounting, keys: any SigningKeyStorage,
         reopen: @escaping () throws -> any FlowStorage, cleanup: @escaping () -> Void = {}) {
        self.flows = flows
        self.web = web
        self.admission = admission
        self.unknownCodes = unknownCodes
        self.keys = keys
        self.reopen = reopen
        self.cleanup = cleanup
    }

    deinit { cleanup() }
}

/// A backend factory: the argument every conformance test runs over (dex's
/// `storage/conformance.RunTests(t, newStorage)`). The next backend adds one line to `all`.
struct Backend: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> BackendInstance

    var testDescription: String { name }

    static let file = Backend(name: "file") {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(root: temp.path + "/state")
        try directory.prepare()
        return BackendInstance(
            flows: try FileFlowStore(directory: directory), web: try FileWebStateStore(directory: directory),
            admission: FileAdmissionCounters(directory: directory), unknownCodes: FileUnknownCodeCounts(directory: directory),
            keys: try KeyFiles(directory: temp.path + "/keys"),
            reopen: { try FileFlowStore(directory: StateDirectory(root: directory.root)) }, cleanup: { temp.remove() })
    }

    static let memory = Backend(name: "memory") {
        let flows = MemoryFlowStore()
        return BackendInstance(flows: flows, web: MemoryWebStateStore(revocationsFrom: flows), admission: MemoryAdmissionCounters(),
                               unknownCodes: MemoryUnknownCodeCounts(), keys: MemorySigningKeys(), reopen: { flows })
    }

    /// Every store on PostgreSQL, one fresh migrated schema per instance (dropped in
    /// cleanup); `reopen` is a second host: a new connection to the same schema. The
    /// password-hash slots stay per host, as in production: a temporary state directory's.
    static let postgres = Backend(name: "postgres") {
        guard let pg = try TestPostgres() else { throw PostgresError(.unavailable, "DEVICEGATE_TEST_POSTGRES_URL is not set") }
        let temp = TemporaryDirectory()
        let host = StateDirectory(root: temp.path + "/state")
        try host.prepare()
        let slots = try FileWebStateStore(directory: host)
        let c = pg.connection()
        let flows = try PostgresFlowStore(connection: c)
        return BackendInstance(flows: flows, web: try PostgresWebStateStore(connection: c, flows: flows, slots: slots.claimSlot),
                               admission: PostgresAdmissionCounters(connection: c), unknownCodes: PostgresUnknownCodeCounts(connection: c, kind: .deviceCode),
                               keys: PostgresKeyStore(connection: c), reopen: { try PostgresFlowStore(connection: pg.connection()) },
                               cleanup: { pg.remove(); temp.remove() })
    }

    static let all: [Backend] = [.file, .memory] + (TestPostgres.isAvailable ? [.postgres] : [])
}


let start = UnixTime(seconds: 1_800_000_000)

/// A flow record with fresh random ids, as device authorization would create it.
func newFlow(userCodeKey: String? = nil, createdAt: UnixTime = start, lifetime: Int64 = 600,
             status: DeviceFlowRecord.Status = .pending) -> DeviceFlowRecord {
    DeviceFlowRecord(id: Encoding.hex(SystemSecureRandom().bytes(32)), userCodeKey: userCodeKey ?? Encoding.hex(SystemSecureRandom().bytes(32)),
                     clientID: "tv", scope: ScopeSet(["openid"]), createdAt: createdAt, expiresAt: createdAt.adding(seconds: lifetime),
                     interval: 5, status: status)
}

let alice = DeviceFlowRecord.Approval(subject: "alice", authTime: start, approvedAt: start)

func randomHex() -> String { Encoding.hex(SystemSecureRandom().bytes(32)) }
