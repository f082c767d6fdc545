/// What a read-modify-write of one flow writes back. Built by the closure that runs under
/// the flow's lock (dex's `UpdateDeviceToken(ctx, code, updater)` shape).
public struct FlowUpdate<Result> {
    /// A new durable record: written atomically (temp, fsync, rename, fsync of the directory)
    /// before the lock is released. nil leaves the record untouched.
    public var record: DeviceFlowRecord?
    /// New soft polling state: written in place, never fsynced. nil leaves it untouched.
    public var poll: PollState?
    public var result: Result

    public init(record: DeviceFlowRecord? = nil, poll: PollState? = nil, result: Result) {
        self.record = record
        self.poll = poll
        self.result = result
    }
}

/// Errors a store reports. The HTTP layer answers each with 503 `temporarily_unavailable`
/// except `userCodeInUse`, which device authorization handles by drawing another code.
public struct FlowStorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case userCodeInUse = "user code in use"
        case noSpace = "no space left in the state directory"
        case io = "state directory I/O error"
        case corrupt = "corrupt state file"
    }

    public var kind: Kind
    /// For operators: what failed, where and why ("fdatasync /var/lib/devicegate/journal/…:
    /// Input/output error").
    public var message: String
    /// The system call that failed ("open", "fdatasync", "syncfs", …), when one did.
    public var call: String?
    /// The path it was made on.
    public var path: String?
    /// The errno it failed with (ENOSPC, EIO, …), kept rather than flattened into `message`.
    public var errno: Int32?

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A failed system call; `message` is the operator's text, built by the caller (who can
    /// name errno: this module does no I/O).
    public init(_ kind: Kind, _ message: String, call: String, path: String, errno: Int32) {
        self.init(kind, message)
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// The state shared by every worker of a host: flows and their user-code claims, access
/// tokens, refresh-token families and revocations. The file-backed implementation lives in the
/// DirectoryStorage module; `MemoryFlowStore` (DeviceGateTesting) is the in-memory one the HTTP and
/// web tests run on. Both pass `StorageConformanceTests`, which states each promise as a test.
///
/// The promises, each made once here:
/// - **Exclusion.** `updateFlow` and `updateRefreshFamily` run their closure with that flow's
///   (family's) exclusive lock held across every process and thread; the closure reads and
///   what it returns is written before anyone else reads. A decision made in the closure
///   (redeem, rotate) is therefore made exactly once however many callers race.
/// - **Live user codes are never shared.** `createFlow` refuses a user-code key a live flow
///   holds; the claim of a flow that expired before the new one was created is replaced.
/// - **Soft poll state is shared.** What a closure returns as `FlowUpdate.poll` is what the
///   next caller, in any process, reads (so `slow_down` grows the interval for everyone).
/// - **Rotation is indexed.** Every refresh token a family ever had (current or rotated away)
///   finds the family until the family expires, so reuse of an old one is detected.
/// - **Revocations are seen at once**, by every process, with no cache in between.
/// - Durable writes are durable before the call returns (the file store fsyncs; a memory
///   store has nothing to lose but the process).
public protocol FlowStorage: AnyObject {
    /// The key a user code is indexed under: HMAC-SHA-256 with the store's secret pepper, so a
    /// copy of the state directory does not reveal live user codes.
    func userCodeKey(forCanonicalUserCode code: String) -> String

    /// Persists a new pending flow durably and indexes its user code. Throws
    /// `.userCodeInUse` if a live flow already holds that user code.
    func createFlow(_ record: DeviceFlowRecord) throws

    /// The flow id a user-code key points at, if any.
    func flowID(forUserCodeKey key: String) throws -> String?

    /// Runs `body` with the flow's exclusive lock held, across every process sharing the
    /// state directory, and writes back what it returns.
    func updateFlow<R>(id: String, _ body: (DeviceFlowRecord?, PollState) throws -> FlowUpdate<R>) throws -> R

    /// RFC 8628 §3.5 for a flow that is still pending: when the store knows, under the flow's
    /// lock and without reading its record, that the flow is pending, unexpired and was issued
    /// to `clientID`, it answers the poll (`DevicePolling.pending`), saves the soft state and
    /// returns the error to send. nil when it cannot tell (any other case: approved, denied,
    /// redeemed, expired, another client, unknown, or simply not known here): the caller then
    /// decides with `updateFlow`. A store must never answer for a flow whose durable record is
    /// not pending; stores without such knowledge return nil (the default).
    func pollPendingFlow(id: String, clientID: String, now: UnixTime) throws -> OAuthError?

    /// Persists an issued access token durably.
    func saveAccessToken(_ record: AccessTokenRecord) throws

    /// Looks an access token up by its SHA-256.
    func accessToken(hash: String) throws -> AccessTokenRecord?

    /// Persists a new refresh-token family and indexes its current token, durably.
    func createRefreshFamily(_ family: RefreshFamily) throws

    /// The family a refresh token (by SHA-256) belongs to, current or rotated away.
    func refreshFamilyID(forTokenHash hash: String) throws -> String?

    /// Read-modify-write of a family under its exclusive lock. When the returned family has a
    /// new `currentTokenHash`, the store indexes it before writing the family.
    func updateRefreshFamily<R>(id: String, _ body: (RefreshFamily?) throws -> (family: RefreshFamily?, result: R)) throws -> R

    /// Records that an access token (by id) is revoked until it expires anyway.
    func revokeAccessToken(id: String, expiresAt: UnixTime) throws

    /// No lock, so resource checks never contend (the file store: one stat(2)). Throws when
    /// the store cannot answer (a database that is down): the caller answers 503, never
    /// "not revoked".
    func isAccessTokenRevoked(id: String) throws -> Bool

    /// Revokes every access token, refresh family and session of `subject` issued, created or
    /// signed in at or before `at`; the record may be forgotten after `keepUntil`, when
    /// nothing it covers can still be alive. Seen by every process at once.
    func revokeSubject(_ subject: String, at: UnixTime, keepUntil: UnixTime) throws

    /// When `subject` was last revoked, if ever (within `keepUntil`). No lock.
    func subjectRevokedAt(_ subject: String) throws -> UnixTime?

    /// Persists a new authorization code (RFC 6749 §4.1.2) durably, before the redirect that
    /// carries it is sent. Ids are SHA-256 of 256 random bits, so a collision is not handled.
    func createAuthorizationCode(_ record: AuthorizationCodeRecord) throws

    /// Read-modify-write of an authorization code under its exclusive lock, across every
    /// process (and host), as `updateFlow`: a code redeemed by two requests at once is
    /// redeemed exactly once. What the closure returns as the record is written durably
    /// before the lock is released; nil leaves it untouched. A record is kept at least until
    /// `collectableAt`, so that a replay within that time finds it.
    func updateAuthorizationCode<R>(id: String, _ body: (AuthorizationCodeRecord?) throws -> (record: AuthorizationCodeRecord?, result: R)) throws -> R

    // MARK: Listing: a person's grants, and the operator's commands

    /// Every refresh family created for `subject` that the store still holds, live or not
    /// (revoked and expired ones until they are collected), in no particular order. On a
    /// request path ("Your devices"), so it costs O(families of that subject): no directory
    /// listing, no scan of other subjects' grants. A family is found here from the moment
    /// `createRefreshFamily` returns.
    func refreshFamilies(subject: String) throws -> [RefreshFamily]

    /// Every refresh family the store holds. Operator commands only: it may read every entry.
    func everyRefreshFamily() throws -> [RefreshFamily]

    /// Every flow the store holds (pending, decided and redeemed, until collected). Operator
    /// commands only: it may read every entry.
    func everyFlow() throws -> [DeviceFlowRecord]
}

extension FlowStorage {
    /// Whether something of `subject` dated `time` (issued, created, signed in) is revoked.
    public func isRevoked(subject: String, at time: UnixTime) throws -> Bool {
        guard let revoked = try subjectRevokedAt(subject) else { return false }
        return time <= revoked
    }
}

extension FlowStorage {
    public func pollPendingFlow(id: String, clientID: String, now: UnixTime) throws -> OAuthError? { nil }
}
