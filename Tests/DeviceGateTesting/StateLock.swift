#if canImport(Glibc)
import Glibc
#endif

/// The exclusion of an in-memory backend: one recursive mutex around all of its state.
///
/// Recursive because the contract lets an update closure call the store again (a redemption
/// saves its access token and creates its refresh family under the flow's lock; a replay
/// revokes the family under it). One lock for everything is stronger than the file store's
/// per-flow locks, and so never weaker than the contract.
public final class StateLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
