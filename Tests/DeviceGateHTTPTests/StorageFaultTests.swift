#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateAssembly
import DeviceGateConfig
import DeviceGateHTTP
import DeviceGateTesting
@_spi(Testing) import DirectoryStorage
@_spi(Testing) import HostFiles
import Logging
import Observability
import Testing

/// A full or failing disk under the OAuth endpoints, made with `SyscallFaults` on the file
/// store (so this fixture stays on a real state directory): 503 `temporarily_unavailable`
/// with a Retry-After, and the request succeeds unchanged once the disk recovers. (Each write
/// path's own ENOSPC behaviour is in DirectoryStorageTests' `SyscallFaultTests`.)
struct StorageFaultTests {
    final class Fixture {
        let temp = TemporaryDirectory()
        let clock = ManualClock()
        let app: DeviceGateApp
        var root: String { temp.path + "/state" }

        init() throws {
            var config = testConfiguration(stateDirectory: temp.path + "/state")
            config.tokens.format = .opaque
            config.tokens.signingAlgorithm = "ES256"
            let storage = try TestStorage(.disk, root: config.stateDirectory)
            app = try DeviceGateApp.assemble(configuration: config, storage: try storage.application(keysDirectory: config.keysDirectory, now: clock.now()),
                                             clock: clock, telemetry: .disabled(),
                                             logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }

        deinit { temp.remove() }

        func post(_ path: String, _ body: String) -> HTTPResponse {
            app.handle(HTTPRequest(method: "POST", path: path, contentType: "application/x-www-form-urlencoded", body: Array(body.utf8)))
        }

        func poll(_ deviceCode: String) -> HTTPResponse {
            post("/application/o/token/", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=tv&device_code=\(deviceCode)")
        }
    }

    func expectUnavailable(_ response: HTTPResponse, full: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        expectOAuthError(response, "temporarily_unavailable", status: 503, sourceLocation: sourceLocation)
        #expect(response.header("Retry-After") != nil, sourceLocation: sourceLocation)
        let detail = (try? JSON(response))?["error_description"] ?? ""
        #expect(detail.contains(full ? "is full" : "failed"), "\(detail)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [ENOSPC, EIO])
    func deviceAuthorizationAndRedemptionOnAFailingDiskAre503(code: Int32) throws {
        let f = try Fixture()
        try SyscallFaults.with(code, on: "write", pathContaining: f.root) { rule in
            expectUnavailable(f.post("/application/o/device/", "client_id=tv"), full: code == ENOSPC)
            #expect(SyscallFaults.fired(rule) >= 1)
        }
        let start = try JSON(f.post("/application/o/device/", "client_id=tv"))
        let deviceCode = try #require(start["device_code"]), userCode = try #require(start["user_code"])
        _ = try f.app.service.approve(userCode: userCode, subject: "alice", authTime: f.clock.now(), now: f.clock.now()).get()
        try SyscallFaults.with(code, on: "write", pathContaining: f.root) { _ in
            expectUnavailable(f.poll(deviceCode), full: code == ENOSPC)
        }
        f.clock.advance(seconds: 10)
        let redeemed = f.poll(deviceCode)
        #expect(redeemed.status == 200, "the approval outlived the refused redemption: \(redeemed.bodyText)")
        #expect(try JSON(redeemed)["access_token"] != nil)
    }
}
