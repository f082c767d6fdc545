import DeviceFlow
import DeviceGateTesting

/// An authorization code as the authorization endpoint issues it, created at `createdAt`
/// and living `AuthorizationCodes.lifetime`. `everyField` sets every optional field too, with
/// values that need escaping in a text format (spaces, newlines, tabs, `%`, non-ASCII).
func newCode(createdAt: UnixTime = start, everyField: Bool = false) -> AuthorizationCodeRecord {
    var code = AuthorizationCodeRecord(
        id: randomHex(), clientID: "web app", subject: "alice", scope: ScopeSet(["openid", "profile"]), authTime: createdAt.adding(seconds: -30),
        createdAt: createdAt, expiresAt: createdAt.adding(seconds: Int64(AuthorizationCodes.lifetime)),
        redirectURI: "http://127.0.0.1:8400/callback", codeChallenge: nil, nonce: nil)
    if everyField {
        code.subject = "Zoë O'Brien\nend"
        code.redirectURI = "https://rp.example/cb?next=%2Fhome&x=a b"
        code.codeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        code.nonce = "n-0S6_WzA2Mj %41\té"
        code.redeemedAt = createdAt.adding(seconds: 5)
        code.issued = .init(accessToken: .init(id: "jti:with:colons", expiresAt: createdAt.adding(seconds: 3605)), refreshFamilyID: randomHex())
    }
    return code
}

extension Promise {
    /// What `id` holds, read under its lock without writing.
    static func read(_ store: any FlowStorage, _ id: String) throws -> AuthorizationCodeRecord? {
        try store.updateAuthorizationCode(id: id) { record in (nil, record) }
    }

    /// A code is read back with every field equal, by the store that wrote it and by another
    /// worker's (`reopen`: another handle on the same state, or another host): the record
    /// is in the shared, durable state, not in the writer's memory.
    static func codeRoundTrip(_ store: any FlowStorage, reopen: () throws -> any FlowStorage) throws -> String? {
        let codes = [newCode(), newCode(everyField: true)]
        for code in codes { try store.createAuthorizationCode(code) }
        let other = try reopen()
        for code in codes {
            for (name, s) in [("the writer", store), ("another worker", other)] {
                let read = try read(s, code.id)
                if read != code { return "\(name) read \(read.map { "\($0)" } ?? "nothing") for \(code)" }
            }
        }
        return nil
    }

    /// An id nobody created: the closure is called once, with nil, and a second look still
    /// finds nothing (a malformed id as well: the token endpoint hashes whatever it is sent,
    /// but a backend must not trust that).
    static func unknownCodeIsNil(_ store: any FlowStorage) throws -> String? {
        for id in [randomHex(), "not a sha-256 hex id", ""] {
            var calls = 0
            let found = try store.updateAuthorizationCode(id: id) { record -> (record: AuthorizationCodeRecord?, result: Bool) in
                calls += 1
                return (nil, record != nil)
            }
            if calls != 1 { return "the closure ran \(calls) times for an unknown id" }
            if found { return "an unknown id found a record" }
            if try read(store, id) != nil { return "looking at an unknown id left a record" }
        }
        return nil
    }

    /// What an update returns is what the next update reads, on another worker; a closure that
    /// returns nil changes nothing; fields an update clears stay cleared.
    static func codeUpdateSeenByNextUpdate(_ store: any FlowStorage, reopen: () throws -> any FlowStorage) throws -> String? {
        let code = newCode()
        try store.createAuthorizationCode(code)
        var redeemed = code
        redeemed.redeemedAt = start.adding(seconds: 2)
        redeemed.issued = .init(accessToken: .init(id: randomHex(), expiresAt: start.adding(seconds: 3602)), refreshFamilyID: randomHex())
        redeemed.nonce = "nonce"
        let answer = try store.updateAuthorizationCode(id: code.id) { record in (redeemed, record == code) }
        if !answer { return "the first update did not read the created code" }
        let other = try reopen()
        let seen = try read(other, code.id)
        if seen != redeemed { return "the next update read \(seen.map { "\($0)" } ?? "nothing"), not the update" }
        var cleared = redeemed
        cleared.issued = nil
        cleared.nonce = nil
        try other.updateAuthorizationCode(id: code.id) { _ in (cleared, ()) }
        try store.updateAuthorizationCode(id: code.id) { _ in (nil, ()) }
        let last = try read(store, code.id)
        return last == cleared ? nil : "after clearing two fields the store holds \(last.map { "\($0)" } ?? "nothing")"
    }

    /// `callers` threads redeem one code at once, each deciding under the code's lock as the
    /// token endpoint does (`AuthorizationCodeDecision`): exactly one redeems, every other sees
    /// a replay, and the record names the winner's tokens.
    static func exactlyOnceCodeRedemption(_ store: any FlowStorage, callers: Int = 8) throws -> String? {
        let code = newCode()
        try store.createAuthorizationCode(code)
        let redeemed = Tally(), replayed = Tally(), other = Tally()
        onThreads(callers) { i in
            do {
                try store.updateAuthorizationCode(id: code.id) { record -> (record: AuthorizationCodeRecord?, result: Void) in
                    switch AuthorizationCodeDecision.decide(record: record, clientID: code.clientID, redirectURI: code.redirectURI,
                                                            codeVerifier: nil, now: start.adding(seconds: 1)) {
                    case .redeem:
                        var spent = record!
                        spent.redeemedAt = start.adding(seconds: 1)
                        spent.issued = .init(accessToken: .init(id: "access-\(i)", expiresAt: start.adding(seconds: 3600)), refreshFamilyID: nil)
                        redeemed.add(i)
                        return (spent, ())
                    case .replayed: replayed.add(i)
                    case .refuse: other.add(i)
                    }
                    return (nil, ())
                }
            } catch {
                other.add(i)
            }
        }
        if redeemed.all.count != 1 { return "redeemed \(redeemed.all.count) times by \(callers) concurrent callers" }
        if replayed.all.count != callers - 1 { return "\(replayed.all.count) of \(callers - 1) late callers saw a replay" }
        if !other.all.isEmpty { return "\(other.all.count) callers were refused or failed" }
        let holder = try read(store, code.id)?.issued?.accessToken.id
        return holder == "access-\(redeemed.all[0])" ? nil : "the code names \(holder ?? "no tokens"), not the winner's"
    }

    /// A code stays until `collectableAt` (a replay a day after expiry still finds it and
    /// revokes what it produced), and goes at the first collection after it; a younger one
    /// stays. Counted as one item removed.
    static func codeKeptUntilCollectable(_ store: any FlowStorage & ExpiredStateCollecting) throws -> String? {
        let code = newCode(), younger = newCode(createdAt: start.adding(seconds: 10))
        try store.createAuthorizationCode(code)
        try store.createAuthorizationCode(younger)
        for now in [code.expiresAt.adding(seconds: 1), code.collectableAt] {
            let removed = store.collectExpired(now: now, retentionSeconds: 0)
            if try read(store, code.id) == nil { return "collected at \(now.milliseconds - code.expiresAt.milliseconds) ms after expiry, before collectableAt" }
            if removed != 0 { return "collection before collectableAt counted \(removed) removed" }
        }
        let removed = store.collectExpired(now: code.collectableAt.adding(seconds: 1), retentionSeconds: 0)
        if try read(store, code.id) != nil { return "still stored after collectableAt" }
        if try read(store, younger.id) != younger { return "a code not yet collectable was collected or changed" }
        return removed == 1 ? nil : "one code collected, \(removed) counted"
    }
}
