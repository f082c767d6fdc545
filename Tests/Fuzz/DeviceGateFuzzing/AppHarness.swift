#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
import DeviceGateWeb
import DirectoryStorage
import Logging
import TokenSigning

/// The whole application over a real state directory, fed one `AppInput` at a time, with
/// the properties every answer must have:
///
/// - nothing traps and nothing hangs (the fuzzer's `-timeout`);
/// - no 5xx at all: the state directory is healthy, so a 503 could only mean that input made
///   a storage call or a template fail — stricter than production, where 503
///   `temporarily_unavailable` is the right answer to a full or failing disk;
/// - every status has a reason phrase (the worker writes `Status: 404 Not Found`);
/// - on the OAuth and OIDC paths (and unknown paths), every error is RFC 6749 §5.2 JSON with
///   a string `error`, `Cache-Control: no-store`, `WWW-Authenticate` with 401 and `Allow` with
///   405; every non-empty 200 body is a JSON object;
/// - on the verification page, redirects stay on this site, pages carry the security headers,
///   429 says when to come back, and every page parses strictly (`StrictHTML`) to the
///   element and attribute structure of some benign rendering of a built-in template
///   (`PageShapes`): a value that left its attribute or text node would add structure.
///
/// Two apps share a clock: embedded sign-in with JWT access tokens and generous user-code
/// limits (so the fuzzer gets past them), and delegated sign-in (DEVICEGATE_REMOTE_USER) with opaque
/// tokens and the default limits. Both are built by `DeviceGateApp.assemble`, the function
/// `devicegate worker` builds its app with, and get their requests from the worker's
/// `FastCGIWorker.request`.
public final class AppHarness {
    public let root: String
    let clock = ManualClock()
    private(set) var embedded: Instance
    private(set) var delegated: Instance
    private var generation = 0
    private var runsInGeneration = 0
    /// State is thrown away and made again after this many requests, so a long fuzz run
    /// does not fill the directory.
    public var runsPerGeneration = 20_000

    /// `root` must exist and be empty; the harness owns everything below it.
    public init(root: String) throws {
        self.root = root
        embedded = try Instance(directory: "\(root)/0/embedded", delegated: false, clock: clock)
        delegated = try Instance(directory: "\(root)/0/delegated", delegated: true, clock: clock)
    }

    /// Removes the state. The harness must not be used afterwards.
    public func remove() { removeTree(root) }

    nonisolated(unsafe) private static var current: AppHarness?

    /// The process-wide harness of the fuzzer: under `$DEVICEGATE_FUZZ_STATE` if set (the
    /// script points it at a directory it removes), else a fresh directory in /dev/shm or /tmp.
    static func shared() throws(PropertyViolation) -> AppHarness {
        if let current { return current }
        let base = getenv("DEVICEGATE_FUZZ_STATE").flatMap { String(validatingCString: $0) }
        let root = base ?? makeTemporaryDirectory()
        if base != nil { mkdir(root, 0o700) } else {
            // libFuzzer and the replay mode end with exit(): take the directory along.
            temporaryRoot = root
            atexit { if let root = temporaryRoot { removeTree(root) } }
        }
        do {
            let harness = try AppHarness(root: root)
            current = harness
            return harness
        } catch {
            throw PropertyViolation("cannot set up the app under \(root): \(error)")
        }
    }

    /// Runs one input: fills in the placeholders, asks the app, checks the answer.
    public func check(_ data: [UInt8]) throws(PropertyViolation) {
        _ = try check(AppInput(data))
    }

    @discardableResult
    public func check(_ input: AppInput) throws(PropertyViolation) -> HTTPResponse {
        runsInGeneration += 1
        if runsInGeneration > runsPerGeneration { try renew() }
        let instance = input.delegated ? delegated : embedded
        let request: HTTPRequest
        do { request = try instance.request(input) } catch {
            throw PropertyViolation("cannot fill in the placeholders of \(quoted(input.bytes)): \(error)")
        }
        // After the placeholders: a fresh flow, token or session can be made to expire.
        clock.advance(seconds: input.advanceSeconds)
        let response = instance.app.handle(request)
        do {
            try instance.checkResponse(response, to: request)
        } catch {
            throw PropertyViolation("\(error)\n  request: \(describe(request))\n  response: \(response.status) \(response.headers)\n  \(quoted(response.body))")
        }
        return response
    }

    private func renew() throws(PropertyViolation) {
        let old = "\(root)/\(generation)"
        generation += 1
        runsInGeneration = 0
        do {
            embedded = try Instance(directory: "\(root)/\(generation)/embedded", delegated: false, clock: clock)
            delegated = try Instance(directory: "\(root)/\(generation)/delegated", delegated: true, clock: clock)
        } catch {
            throw PropertyViolation("cannot renew the state under \(root): \(error)")
        }
        removeTree(old)
    }

    private func describe(_ r: HTTPRequest) -> String {
        "\(quoted(r.method)) \(quoted(r.path)) query=\(quoted(r.query)) type=\(quoted(r.contentType ?? "-")) "
            + "authorization=\(quoted(r.authorization ?? "-")) cookie=\(quoted(r.cookie ?? "-")) addr=\(quoted(r.remoteAddress)) "
            + "user=\(quoted(r.remoteUser ?? "-")) exceeded=\(r.bodyExceededLimit) body=\(quoted(r.body))"
    }
}

nonisolated(unsafe) private var temporaryRoot: String?

func makeTemporaryDirectory() -> String {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    var template = Array("\(base)/devicegate-fuzz-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp in \(base) failed")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func removeTree(_ path: String) {
    if let pid = spawnProcess(["/bin/rm", "-rf", path], outputPath: "/dev/null") { _ = waitForExit(pid) }
}
