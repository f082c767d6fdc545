import DeviceFlow

/// The copy of `devicegate storage copy`, item by item through the storage contract on both
/// sides, so that the target keeps its own rules (locks, indexes: a family created on the
/// target is indexed by its subject there). Records are copied whole, with who asked for a
/// flow or grant and a grant's last use. Each step skips what the target already holds, which
/// makes the whole copy idempotent. (In DirectoryStorage, not the command, so that the tests
/// run it against every backend.)
public struct StateCopy {
    let source: StateDirectory
    let from: FileFlowStore
    let fromWeb: FileWebStateStore
    let to: any FlowStorage
    let toWeb: any WebStateStorage
    let now: UnixTime

    public init(source: StateDirectory, from: FileFlowStore, fromWeb: FileWebStateStore, to: any FlowStorage,
                toWeb: any WebStateStorage, now: UnixTime) {
        self.source = source
        self.from = from
        self.fromWeb = fromWeb
        self.to = to
        self.toWeb = toWeb
        self.now = now
    }

    /// Why the copy cannot go on without breaking what the target holds.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Counts: CustomStringConvertible {
        public var keys = 0, flows = 0, accessTokens = 0, refreshFamilies = 0, refreshTokens = 0
        public var revokedAccessTokens = 0, revokedSubjects = 0, sessions = 0, skipped = 0
        public init() {}
        public var description: String {
            "\(keys) signing keys, \(flows) flows, \(accessTokens) access tokens, \(refreshFamilies) refresh families (\(refreshTokens) tokens indexed), \(revokedAccessTokens) access-token revocations, \(revokedSubjects) subject revocations, \(sessions) sessions; \(skipped) already there or no longer live"
        }
    }

    /// Signing keys, oldest first, each activated at the time its predecessor was retired, so
    /// the target ends with the same active key and the same published ones. A target that
    /// already holds the first k of them (an interrupted copy) gets the rest; a target with
    /// other keys is left alone (it signs already).
    public static func keys(from: any SigningKeyStorage, to: any SigningKeyStorage) throws -> Int {
        let source = try from.load().sorted { $0.createdAt < $1.createdAt }
        let present = try to.load().map(\.kid)
        guard Array(source.map(\.kid).prefix(present.count)) == present else {
            throw Refusal(description: "the database already has signing keys (\(present.joined(separator: ", "))) that are not the directory's (did a host start on it before the copy?); copy into a freshly migrated database")
        }
        var copied = 0
        for (i, key) in source.enumerated() where i >= present.count {
            var active = key
            active.retiredAt = nil
            let at = i > 0 ? (source[i - 1].retiredAt ?? key.createdAt) : key.createdAt
            _ = try to.activate(active, now: at, forgetRetiredBefore: nil, onlyIfNone: i == 0)
            copied += 1
        }
        return copied
    }

    public func run(into counts: inout Counts, knownSubjects: [String]) throws {
        var accessTokenIDs: [(id: String, expiresAt: UnixTime)] = []
        var subjects = Set(knownSubjects)

        // Flows that can still be approved or redeemed: pending and approved, not expired.
        for id in try source.exportedFlowIDs() {
            let (record, poll) = try from.updateFlow(id: id) { record, poll in FlowUpdate(result: (record, poll)) }
            guard let record else { continue }
            if let issued = record.issued { accessTokenIDs.append((issued.accessToken.id, issued.accessToken.expiresAt)) }
            switch record.status {
            case .approved(let a): subjects.insert(a.subject)
            case .redeemed(let a, _): subjects.insert(a.subject)
            default: break
            }
            let live: Bool
            switch record.status {
            case .pending, .approved: live = record.expiresAt > now
            default: live = false
            }
            // A flow copied by an earlier run takes the state it has now (approved, denied or
            // redeemed since, on the host still serving): left as copied, a code redeemed on the
            // old host between the two runs would be redeemable again on the new one.
            let synced = try to.updateFlow(id: id) { existing, _ -> FlowUpdate<Bool> in
                guard let existing else { return FlowUpdate(result: false) }
                return existing == record ? FlowUpdate(result: true) : FlowUpdate(record: record, poll: poll, result: true)
            }
            if synced || !live { counts.skipped += 1; continue }
            var pending = record
            pending.status = .pending
            pending.issued = nil
            try to.createFlow(pending)
            // Then its real state and poll state, under the target's lock.
            try to.updateFlow(id: id) { _, _ in FlowUpdate(record: record, poll: poll, result: ()) }
            counts.flows += 1
        }

        for hash in try source.exportedAccessTokenHashes() {
            guard let token = try from.accessToken(hash: hash), token.expiresAt > now else { counts.skipped += 1; continue }
            subjects.insert(token.subject)
            if try to.accessToken(hash: hash) != nil { counts.skipped += 1; continue }
            try to.saveAccessToken(token)
            counts.accessTokens += 1
        }

        // Every token a family ever had, so that reuse of a rotated-away one is still detected.
        var hashesByFamily: [String: [String]] = [:]
        for hash in try source.exportedRefreshTokenHashes() {
            if let family = try from.refreshFamilyID(forTokenHash: hash) { hashesByFamily[family, default: []].append(hash) }
        }
        for id in try source.exportedRefreshFamilyIDs() {
            guard let family = try from.updateRefreshFamily(id: id, { f in (nil, f) }) else { continue }
            subjects.insert(family.subject)
            accessTokenIDs += family.accessTokens.map { ($0.id, $0.expiresAt) }
            guard family.expiresAt > now else { counts.skipped += 1; continue }
            if try to.refreshFamilyID(forTokenHash: family.currentTokenHash) == family.id {
                // Copied before with the same current token: take over what changed since
                // (revoked for reuse or by RFC 7009 on the old host, tokens issued), so a
                // family revoked between the two runs is not live on the new install.
                try to.updateRefreshFamily(id: id) { existing in (existing == family ? nil : family, ()) }
                counts.skipped += 1; continue
            }
            // Index each old token by making it current in turn (the contract indexes a new
            // current token), ending on the family as it is.
            let old = (hashesByFamily[id] ?? []).filter { $0 != family.currentTokenHash }
            var first = true
            for hash in old + [family.currentTokenHash] {
                if hash != family.currentTokenHash, try to.refreshFamilyID(forTokenHash: hash) == family.id { continue }
                var step = family
                step.currentTokenHash = hash
                let exists = try to.updateRefreshFamily(id: id) { f in (nil, f != nil) }
                if !exists && first {
                    try to.createRefreshFamily(step)
                } else {
                    _ = try to.updateRefreshFamily(id: id) { _ in (step, ()) }
                }
                first = false
                counts.refreshTokens += 1
            }
            counts.refreshFamilies += 1
        }

        // Revocations are stored under hashes: ask about every access token and subject the
        // directory knows of.
        for token in accessTokenIDs where token.expiresAt > now {
            if try from.isAccessTokenRevoked(id: token.id), try !to.isAccessTokenRevoked(id: token.id) {
                try to.revokeAccessToken(id: token.id, expiresAt: token.expiresAt)
                counts.revokedAccessTokens += 1
            }
        }

        for hash in try source.exportedSessionHashes() {
            guard let session = try fromWeb.session(idHash: hash), session.expiresAt > now else { counts.skipped += 1; continue }
            subjects.insert(session.subject)
            if try toWeb.session(idHash: hash) != nil { counts.skipped += 1; continue }
            try toWeb.saveSession(idHash: hash, session)
            counts.sessions += 1
        }

        for subject in subjects.sorted() {
            guard let revocation = source.exportedSubjectRevocation(subject), revocation.keepUntil > now else { continue }
            if try to.subjectRevokedAt(subject) == revocation.revokedAt { continue }
            try to.revokeSubject(subject, at: revocation.revokedAt, keepUntil: revocation.keepUntil)
            counts.revokedSubjects += 1
        }
    }
}
