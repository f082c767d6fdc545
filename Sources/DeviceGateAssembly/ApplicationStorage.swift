import DeviceFlow
import DirectoryStorage

/// Everything the application keeps between requests and shares with the other workers: what
/// `DeviceGateApp.assemble` wires the endpoints and the page to.
public struct ApplicationStorage {
    /// Flows, user-code claims, tokens, refresh families and revocations.
    public var flows: any FlowStorage
    /// The verification page's sessions, attempt counters and hash slots.
    public var webState: any WebStateStorage
    /// The signing keys (`tokens.keys_dir` in the worker).
    public var keys: any SigningKeyStorage
    /// Where the caps on pending flows are counted (`admission:`); nil counts nothing.
    public var admissionCounters: (any FlowAdmissionCounters)?
    /// Reads the state filesystem's free blocks and inodes for `admission.reserve_percent`;
    /// nil keeps no reserve.
    public var filesystemReading: (() -> FilesystemReading?)?
    /// This host's `state_dir`, whatever the backend: the counter pages in its `metrics/`
    /// are what the metrics endpoint adds up.
    public var hostDirectory: String

    public init(flows: any FlowStorage, webState: any WebStateStorage, keys: any SigningKeyStorage, admissionCounters: (any FlowAdmissionCounters)?,
                filesystemReading: (() -> FilesystemReading?)?, hostDirectory: String) {
        self.flows = flows
        self.webState = webState
        self.keys = keys
        self.admissionCounters = admissionCounters
        self.filesystemReading = filesystemReading
        self.hostDirectory = hostDirectory
    }

    /// The state directory of `devicegate worker`: the flow and web stores over it, the key
    /// directory (`tokens.keys_dir`), and the admission counters, reserve and counter pages of
    /// the state directory itself.
    public static func stateDirectory(flows: FileFlowStore, webState: FileWebStateStore, keys: KeyFiles) -> ApplicationStorage {
        let directory = flows.directory
        return ApplicationStorage(flows: flows, webState: webState, keys: keys, admissionCounters: FileAdmissionCounters(directory: directory),
                                  filesystemReading: { directory.filesystemReading() }, hostDirectory: directory.root)
    }
}
