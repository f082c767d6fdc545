// A helper process for DirectoryStorageTests' multi-process contention test: several copies race on
// the same flows through the real state directory and report what each one won.
//
//   StoreRaceTool STATE_DIR CODES_FILE
//   StoreRaceTool claims STATE_DIR KEYS CREATED_MS   (see below)
//
// CODES_FILE holds one "device_code user_code" pair a line. Each process walks the list in its
// own shuffled order, tries to approve every flow, then polls every code until it is either
// redeemed by this process or refused; it prints "approved <user_code>" and
// "redeemed <device_code> <access_token>" for what it won.
#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DirectoryStorage

struct Clock: WallClock {
    func now() -> UnixTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

let args = CommandLine.arguments

// StoreRaceTool claims STATE_DIR KEYS CREATED_MS: creates one flow for each of the user-code
// keys sha256("user code <i>"), i < KEYS, in order, at CREATED_MS, and prints "won <i> <flow id>"
// for each it got. Every copy walks the same keys, so they collide on each one.
if args.count == 5, args[1] == "claims", let keys = Int(args[3]), let ms = Int64(args[4]) {
    let store = try FileFlowStore(directory: StateDirectory(root: args[2]))
    let now = UnixTime(milliseconds: ms)
    var output = ""
    for i in 0..<keys {
        let id = Encoding.hex(SystemSecureRandom().bytes(32))
        let record = DeviceFlowRecord(id: id, userCodeKey: Encoding.sha256Hex("user code \(i)"), clientID: "tv",
                                      scope: ScopeSet(["openid"]), createdAt: now, expiresAt: now.adding(seconds: 600), interval: 5)
        do {
            try store.createFlow(record)
            output += "won \(i) \(id)\n"
        } catch let error as FlowStorageError where error.kind == .userCodeInUse {
        } catch {
            output += "unexpected \(i) \(error)\n"
        }
    }
    print(output, terminator: "")
    exit(0)
}

guard args.count == 3, let file = fopen(args[2], "r") else { print("usage: StoreRaceTool STATE_DIR CODES_FILE | claims STATE_DIR KEYS CREATED_MS"); exit(2) }
var pairs: [(String, String)] = []
var line: UnsafeMutablePointer<CChar>? = nil
var capacity = 0
while getline(&line, &capacity, file) > 0 {
    let parts = String(cString: line!).split(whereSeparator: { $0 == " " || $0 == "\n" })
    if parts.count == 2 { pairs.append((String(parts[0]), String(parts[1]))) }
}
pairs.shuffle()

let client = ClientRegistration(clientID: "tv", displayName: "TV", kind: .public, allowedScopes: ScopeSet(["openid"]), defaultScopes: ScopeSet(["openid"]))
let store = try FileFlowStore(directory: StateDirectory(root: args[1]))
let service = FlowService(store: store, clients: ClientRegistry([client]), policy: FlowPolicy(verificationURI: "https://x/device"),
                          issuer: OpaqueTokenIssuer(accessTokenLifetime: 3600))
let clock = Clock()
var output = ""
for (_, userCode) in pairs {
    if case .success = try service.approve(userCode: userCode, subject: "alice", authTime: clock.now(), now: clock.now()) {
        output += "approved \(userCode)\n"
    }
}
for (deviceCode, _) in pairs.shuffled() {
    switch try service.poll(deviceCode: deviceCode, client: client, now: clock.now()) {
    case .tokens(let tokens): output += "redeemed \(deviceCode) \(tokens.accessToken)\n"
    case .error(let error) where error.code == "invalid_grant": break
    case .error(let error): output += "unexpected \(deviceCode) \(error.code)\n"
    // Another process redeemed it first: this poll is a replay, refused (and revoking).
    case .revoked(let error, _, _, _) where error.code == "invalid_grant": break
    case .revoked(let error, _, _, _): output += "unexpected \(deviceCode) revoked \(error.code)\n"
    case .revocationFailed(_, _, _, _, let cause): output += "unexpected \(deviceCode) revocation failed: \(cause)\n"
    }
}
print(output, terminator: "")
