import DeviceFlow

/// `FlowAdmissionCounters` in memory: the same `ExpiryBuckets` per key as the file store's
/// files, checked and counted for every key under one lock, so a cap is never overshot.
public final class MemoryAdmissionCounters: FlowAdmissionCounters, @unchecked Sendable {
    private let lock = StateLock()
    private var buckets: [String: ExpiryBuckets] = [:]

    public init() {}

    public func admit(_ keys: [AdmissionKey], expiresAt: UnixTime, lifetimeSeconds: Int, now: UnixTime) throws -> AdmissionRefusal? {
        let width = ExpiryBuckets.width(lifetime: Int64(lifetimeSeconds))
        return lock.withLock {
            for key in keys {
                if let refusal = key.refusal(buckets[key.name] ?? ExpiryBuckets(), now: now) { return refusal }
            }
            for key in keys {
                var b = buckets[key.name] ?? ExpiryBuckets()
                b.add(expiresAt: expiresAt, width: width, now: now)
                buckets[key.name] = b
            }
            return nil
        }
    }

    /// The live count under a key (the file store's `FileAdmissionCounters.live`).
    public func live(_ name: String, now: UnixTime) -> Int64 {
        lock.withLock { buckets[name]?.live(now: now) ?? 0 }
    }
}

/// `UnknownCodeCounting` in memory: one count per (address, minute), exact under concurrency;
/// a count of an ended minute is handed back once, when the address counts again or by
/// `takeDue`. The file store's table may also hand back counts to make room; a table that
/// never fills never needs to.
public final class MemoryUnknownCodeCounts: UnknownCodeCounting, @unchecked Sendable {
    private let lock = StateLock()
    private var entries: [String: UnknownCodeCount] = [:]

    public init() {}

    public func add(address: String, clientID: String, window: Int64) throws -> [UnknownCodeCount] {
        lock.withLock {
            var due: [UnknownCodeCount] = []
            var entry = entries[address] ?? UnknownCodeCount(address: address, clientID: clientID, count: 0, window: window)
            if entry.window != window {
                due.append(entry)
                entry = UnknownCodeCount(address: address, clientID: clientID, count: 0, window: window)
            }
            if entry.count > 0, entry.clientID != clientID { entry.clientID = nil }
            entry.count += 1
            entries[address] = entry
            return due
        }
    }

    public func takeDue(window: Int64) throws -> [UnknownCodeCount] {
        lock.withLock {
            let due = entries.values.filter { $0.window < window }
            for d in due { entries[d.address] = nil }
            return due.sorted { $0.address < $1.address }
        }
    }
}

/// `SigningKeyStorage` in memory: the key list and a version bumped on every change.
public final class MemorySigningKeys: SigningKeyStorage, @unchecked Sendable {
    private let lock = StateLock()
    private var keys: [StoredKey] = []
    private var version: Int64 = 0

    public init() {}

    public var location: String { "memory" }

    public func indexVersion() -> Int64? { lock.withLock { keys.isEmpty ? nil : version } }

    public func load() throws -> [StoredKey] { lock.withLock { keys } }

    public func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?, onlyIfNone: Bool) throws -> Bool {
        lock.withLock {
            if onlyIfNone && !keys.isEmpty { return false }
            keys = keys.map { k in var k = k; if k.retiredAt == nil { k.retiredAt = now }; return k }
            if let cutoff = forgetRetiredBefore { keys.removeAll { ($0.retiredAt ?? now) < cutoff } }
            keys.append(key)
            version += 1
            return true
        }
    }
}
