#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import Testing

/// The authorization-code promises of `FlowStorage` (`createAuthorizationCode`,
/// `updateAuthorizationCode`) and of `ExpiredStateCollecting`, on every backend.
@Suite struct AuthorizationCodeConformanceTests {
    @Test(arguments: Backend.all)
    func everyFieldIsReadBackByAnotherWorker(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.codeRoundTrip(b.flows, reopen: b.reopen) == nil)
    }

    @Test(arguments: Backend.all)
    func anUnknownCodeIsNilAndWritesNothing(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.unknownCodeIsNil(b.flows) == nil)
    }

    @Test(arguments: Backend.all)
    func anUpdateIsSeenByTheNextUpdate(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.codeUpdateSeenByNextUpdate(b.flows, reopen: b.reopen) == nil)
    }

    @Test(arguments: Backend.all)
    func concurrentRedemptionsRedeemOnce(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.exactlyOnceCodeRedemption(b.flows) == nil)
    }

    /// The same race with every caller on its own worker (its own file handles, its own
    /// database connection): the exclusion is the backend's, not one object's.
    @Test(arguments: Backend.all)
    func concurrentRedemptionsOnSeparateWorkersRedeemOnce(_ backend: Backend) throws {
        let b = try backend.make()
        let workers = try (0..<6).map { _ in try b.reopen() }
        #expect(try Promise.exactlyOnceCodeRedemption(WorkerPerThreadStore(workers), callers: workers.count) == nil)
    }

    @Test(arguments: Backend.all)
    func aCodeIsKeptUntilCollectableAndCollectedAfter(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try Promise.codeKeptUntilCollectable(b.flows) == nil)
    }
}

/// Sends each thread's calls to a worker of its own, chosen by the order threads first call.
final class WorkerPerThreadStore: ForwardingFlowStore, @unchecked Sendable {
    private let workers: [any FlowStorage]
    private let lock = StateLock()
    private var assigned: [pthread_t: Int] = [:]

    init(_ workers: [any FlowStorage]) {
        self.workers = workers
        super.init(workers[0])
    }

    private var worker: any FlowStorage {
        let me = pthread_self()
        return workers[lock.withLock {
            if let index = assigned[me] { return index }
            let index = assigned.count % workers.count
            assigned[me] = index
            return index
        }]
    }

    override func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws { try worker.createAuthorizationCode(record) }
    override func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R {
        try worker.updateAuthorizationCode(id: id, body)
    }
}
