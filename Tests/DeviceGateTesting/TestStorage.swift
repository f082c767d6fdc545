import DeviceFlow
import DeviceGateAssembly
import DirectoryStorage
import TokenSigning

/// The shared state a test fixture runs on: in memory unless the test is about the disk
/// (file layout, permissions, several processes on one directory), then a fresh state
/// directory under `root`.
public final class TestStorage {
    public enum Kind: Sendable { case memory, disk }

    public let kind: Kind
    public let flows: any FlowStorage & ExpiredStateCollecting
    public let web: any WebStateStorage & WebStateCollecting
    public let admission: any FlowAdmissionCounters
    public let unknownCodes: any UnknownCodeCounting
    /// The state directory on disk; nil in memory.
    public let directory: StateDirectory?
    /// Where the metrics endpoint reads counter pages: the state directory on disk; in memory
    /// a directory nobody writes to, so every counter reads 0.
    public let counterPages: StateDirectory

    /// `root` is the state directory for `.disk` (prepared here); unused in memory.
    public init(_ kind: Kind, root: String) throws {
        self.kind = kind
        counterPages = StateDirectory(root: root)
        switch kind {
        case .memory:
            let flows = MemoryFlowStore()
            self.flows = flows
            web = MemoryWebStateStore(revocationsFrom: flows)
            admission = MemoryAdmissionCounters()
            unknownCodes = MemoryUnknownCodeCounts()
            directory = nil
        case .disk:
            let directory = StateDirectory(root: root)
            try directory.prepare()
            flows = try FileFlowStore(directory: directory)
            web = try FileWebStateStore(directory: directory)
            admission = FileAdmissionCounters(directory: directory)
            unknownCodes = FileUnknownCodeCounts(directory: directory)
            self.directory = directory
        }
    }

    /// The signing keys: in memory, or `KeyFiles` in `keysDirectory` on disk.
    public func signingKeys(keysDirectory: String) throws -> any SigningKeyStorage {
        kind == .memory ? MemorySigningKeys() : try KeyFiles(directory: keysDirectory)
    }

    /// What `DeviceGateApp.assemble` wires the app to: these stores, signing keys (one ES256
    /// key made now), the admission counters, and on disk the state filesystem's reading for
    /// the reserve.
    public func application(keysDirectory: String, now: UnixTime) throws -> ApplicationStorage {
        let keys = try signingKeys(keysDirectory: keysDirectory)
        try KeyRing.ensureKey(files: keys, algorithm: .es256, now: now)
        return application(keys: keys)
    }

    /// The same with the caller's keys.
    public func application(keys: any SigningKeyStorage) -> ApplicationStorage {
        ApplicationStorage(flows: flows, webState: web, keys: keys, admissionCounters: admission,
                           filesystemReading: directory.map { directory in { directory.filesystemReading() } }, hostDirectory: counterPages.root)
    }
}
