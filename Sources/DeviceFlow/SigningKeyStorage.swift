/// A signing key as stored: PEM private key plus its metadata.
public struct StoredKey: Sendable, Equatable {
    /// JWS `kid`.
    public var kid: String
    /// JWS `alg`: RS256 or ES256.
    public var alg: String
    public var createdAt: UnixTime
    /// When a newer key replaced it; nil for the active key.
    public var retiredAt: UnixTime?
    public var pem: String

    public init(kid: String, alg: String, createdAt: UnixTime, retiredAt: UnixTime? = nil, pem: String) {
        self.kid = kid
        self.alg = alg
        self.createdAt = createdAt
        self.retiredAt = retiredAt
        self.pem = pem
    }
}

/// The signing keys every worker of a host shares (the file store's `KeyFiles`; the in-memory
/// one of the tests). `KeyRing` reaches keys only through this.
public protocol SigningKeyStorage: AnyObject {
    /// Where the keys live, for messages to an operator (a directory, or "memory").
    var location: String { get }

    /// A value that changes whenever the key set changes, cheap enough to read once a second
    /// per worker; nil while there are no keys. A worker reloads when it differs.
    func indexVersion() -> Int64?

    /// Every key, oldest first: at most one with `retiredAt == nil` (the active one).
    func load() throws -> [StoredKey]

    /// Adds `key` as the active key, retiring the current one at `now`, and forgets keys
    /// retired before `forgetRetiredBefore`. Under the backend's exclusion, so two concurrent
    /// rotations never lose a key. With `onlyIfNone`, does nothing (returns false) when a key
    /// exists: of two workers starting at once, exactly one creates the first key.
    func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?, onlyIfNone: Bool) throws -> Bool
}

extension SigningKeyStorage {
    public func activate(_ key: StoredKey, now: UnixTime, forgetRetiredBefore: UnixTime?) throws -> Bool {
        try activate(key, now: now, forgetRetiredBefore: forgetRetiredBefore, onlyIfNone: false)
    }
}
