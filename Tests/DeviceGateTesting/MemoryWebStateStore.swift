import DeviceFlow

/// `WebStateStorage` in memory: sessions, fixed-window counters and slot pools under one lock.
/// Sessions of a subject revoked in `flows` (`devicegate users remove`) end, as they do in the
/// state directory.
public final class MemoryWebStateStore: WebStateStorage, WebStateCollecting, @unchecked Sendable {
    public let secretKey: [UInt8]
    private let flows: MemoryFlowStore?
    private let lock = StateLock()
    private var sessions: [String: WebSession] = [:]
    private var counters: [String: WindowCount] = [:]
    /// Held slots per pool.
    private var held: [String: Set<Int>] = [:]

    public init(secretKey: [UInt8] = Array(repeating: 9, count: 32), revocationsFrom flows: MemoryFlowStore? = nil) {
        self.secretKey = secretKey
        self.flows = flows
    }

    public func saveSession(idHash: String, _ session: WebSession) throws {
        lock.withLock { sessions[idHash] = session }
    }

    public func session(idHash: String) throws -> WebSession? {
        try lock.withLock {
            guard let session = sessions[idHash] else { return nil }
            if let flows, try flows.isRevoked(subject: session.subject, at: session.authTime) {
                sessions[idHash] = nil
                return nil
            }
            return session
        }
    }

    public func deleteSession(idHash: String) throws {
        lock.withLock { sessions[idHash] = nil }
    }

    /// Leaves out sessions a subject revocation ended, as `session(idHash:)` does.
    public func sessions(subject: String?) throws -> [(idHash: String, session: WebSession)] {
        try lock.withLock {
            try sessions.filter { entry in
                guard subject == nil || entry.value.subject == subject else { return false }
                return try !(flows?.isRevoked(subject: entry.value.subject, at: entry.value.authTime) ?? false)
            }.map { ($0.key, $0.value) }
        }
    }

    public func count(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        return lock.withLock {
            guard let stored = counters[key], stored.windowEnd == end else { return WindowCount(count: 0, windowEnd: end) }
            return stored
        }
    }

    public func increment(key: String, windowSeconds: Int, now: UnixTime) throws -> WindowCount {
        let end = WindowCount.windowEnd(now: now, seconds: windowSeconds)
        return lock.withLock {
            var next = WindowCount(count: 1, windowEnd: end)
            if let stored = counters[key], stored.windowEnd == end { next.count = stored.count + 1 }
            counters[key] = next
            return next
        }
    }

    public func decrement(key: String, windowEnd: UnixTime) throws {
        lock.withLock {
            guard var next = counters[key], next.windowEnd == windowEnd, next.count > 0 else { return }
            next.count -= 1
            counters[key] = next
        }
    }

    public func claimSlot(pool: String, count: Int) throws -> (any SlotClaim)? {
        lock.withLock {
            let slots = max(1, count)
            var taken = held[pool] ?? []
            guard let free = (0..<slots).first(where: { !taken.contains($0) }) else { return nil }
            taken.insert(free)
            held[pool] = taken
            return MemorySlotClaim { [weak self] in self?.lock.withLock { _ = self?.held[pool]?.remove(free) } }
        }
    }

    @discardableResult
    public func collectExpiredWebState(now: UnixTime) -> (sessions: Int, counters: Int) {
        lock.withLock {
            let s = sessions.count, c = counters.count
            sessions = sessions.filter { $0.value.expiresAt > now }
            counters = counters.filter { $0.value.windowEnd > now }
            return (s - sessions.count, c - counters.count)
        }
    }
}

/// A held slot: free again when released or dropped.
final class MemorySlotClaim: SlotClaim, @unchecked Sendable {
    private var free: (() -> Void)?
    init(_ free: @escaping () -> Void) { self.free = free }
    func release() {
        free?()
        free = nil
    }
    deinit { release() }
}
