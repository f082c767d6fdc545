#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` for i in 0..<count, each on its own thread, all started before any is
/// joined: real concurrency, not a thread pool as wide as the machine. The stores are
/// shared across threads on purpose (their own exclusion is what is under test), so `body`
/// is not required to be `@Sendable`.
public func onThreads(_ count: Int, _ body: @escaping (Int) -> Void) {
    final class Box: @unchecked Sendable {
        let index: Int
        let body: (Int) -> Void
        init(_ index: Int, _ body: @escaping (Int) -> Void) { self.index = index; self.body = body }
    }
    var threads: [pthread_t] = []
    for i in 0..<count {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(i, body)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body(box.index)
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Results written by several threads, read after they are joined.
public final class Tally: @unchecked Sendable {
    private let lock = StateLock()
    private var values: [Int] = []
    public init() {}
    public func add(_ value: Int) { lock.withLock { values.append(value) } }
    public var all: [Int] { lock.withLock { values } }
}

