import DeviceFlow

/// The signing keys a worker uses: the active one signs; it and recently retired ones verify
/// and are published in the JWKS until every token they signed has expired.
///
/// A rotation by `devicegate keys rotate` changes the key index; each worker notices within a
/// second (one stat) and reloads, with no restart.
public final class KeyRing: @unchecked Sendable {
    public let files: any SigningKeyStorage
    /// Longest lifetime of any token we sign: a retired key is published this long.
    public let maximumTokenLifetime: Int
    private var version: Int64?
    private var lastCheck = UnixTime(milliseconds: 0)
    private var stored: [StoredKey] = []
    private var signing: SigningKey?
    private var verifiers: [String: (key: VerificationKey, retiredAt: UnixTime?)] = [:]

    public init(files: any SigningKeyStorage, maximumTokenLifetime: Int) {
        self.files = files
        self.maximumTokenLifetime = maximumTokenLifetime
    }

    public struct KeyError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reloads when the index changed; at most one stat a second.
    public func refresh(now: UnixTime) throws {
        guard now.milliseconds(since: lastCheck) >= 1000 || version == nil else { return }
        lastCheck = now
        let current = files.indexVersion()
        guard current != version || signing == nil else { return }
        let keys = try files.load()
        var active: SigningKey?
        var published: [String: (VerificationKey, UnixTime?)] = [:]
        for key in keys {
            guard let algorithm = SigningKey.Algorithm(rawValue: key.alg) else { throw KeyError(description: "key \(key.kid): unknown alg \(key.alg)") }
            let parsed = try SigningKey(pem: key.pem, algorithm: algorithm, kid: key.kid)
            if key.retiredAt == nil { active = parsed }
            published[key.kid] = (parsed.verifier, key.retiredAt)
        }
        guard let active else { throw KeyError(description: "no active signing key in \(files.location); run `devicegate keys generate`") }
        stored = keys
        signing = active
        verifiers = published
        version = current
    }

    public func activeKey(now: UnixTime) throws -> SigningKey {
        try refresh(now: now)
        return signing!
    }

    /// The key for `kid` if it may still verify tokens at `now`.
    public func verificationKey(kid: String, now: UnixTime) -> VerificationKey? {
        try? refresh(now: now)
        guard let entry = verifiers[kid] else { return nil }
        if let retired = entry.retiredAt, now >= retired.adding(seconds: Int64(maximumTokenLifetime)) { return nil }
        return entry.key
    }

    /// The published keys, newest first (RFC 7517 JWK Set).
    public func publishedKeys(now: UnixTime) -> [VerificationKey] {
        try? refresh(now: now)
        return stored.reversed().compactMap { verificationKey(kid: $0.kid, now: now) }
    }

    public var keys: [StoredKey] { stored }

    /// Creates the first key if there is none (for `serve` and the demo).
    public static func ensureKey(files: any SigningKeyStorage, algorithm: SigningKey.Algorithm, now: UnixTime) throws {
        guard try files.load().isEmpty else { return }
        let key = try SigningKey.generate(algorithm)
        _ = try files.activate(StoredKey(kid: key.kid, alg: algorithm.rawValue, createdAt: now, pem: key.pemRepresentation),
                               now: now, forgetRetiredBefore: nil, onlyIfNone: true)
    }

    /// Generates a new active key; the previous one is retired now and published until its
    /// tokens have expired, then forgotten.
    public static func rotate(files: any SigningKeyStorage, algorithm: SigningKey.Algorithm, now: UnixTime, maximumTokenLifetime: Int) throws -> SigningKey {
        let key = try SigningKey.generate(algorithm)
        _ = try files.activate(StoredKey(kid: key.kid, alg: algorithm.rawValue, createdAt: now, pem: key.pemRepresentation),
                               now: now, forgetRetiredBefore: now.adding(seconds: -Int64(maximumTokenLifetime)), onlyIfNone: false)
        return key
    }
}
