import DeviceFlow
import DeviceGateTesting
import Testing

/// The promises of issue 14, on every backend: who asked (RFC 8628 §5.4) and when a grant was
/// last used round-trip; a subject's grants are found from the moment they are created and
/// never another subject's; the operator's listings hold what was created.
@Suite struct ListingConformanceTests {
    static func family(subject: String = "alice", requester: DeviceRequester? = nil) -> RefreshFamily {
        RefreshFamily(id: randomHex(), clientID: "tv", subject: subject, scope: ScopeSet(["openid", "offline_access"]), authTime: start,
                      createdAt: start, expiresAt: start.adding(seconds: 86_400), currentTokenHash: randomHex(), requester: requester)
    }

    static func read(_ store: any FlowStorage, family id: String) throws -> RefreshFamily? {
        try store.updateRefreshFamily(id: id) { (nil, $0) }
    }

    /// Every shape of requester: address and product, no product, an empty address, none.
    static let requesters: [DeviceRequester?] = [
        DeviceRequester(address: "2001:db8::17", userAgent: "Mozilla/5.0 (X11; Linux x86_64)"),
        DeviceRequester(address: "192.0.2.4", userAgent: nil),
        DeviceRequester(stored: "", userAgent: "curl/8.5.0"),
        nil,
    ]

    @Test(arguments: Backend.all)
    func requesterRoundTripsOnFlowsAndFamilies(_ backend: Backend) throws {
        let b = try backend.make()
        let other = try b.reopen()
        for requester in Self.requesters {
            var flow = newFlow()
            flow.requester = requester
            try b.flows.createFlow(flow)
            #expect(try other.updateFlow(id: flow.id) { record, _ in FlowUpdate(result: record) } == flow)
            // An approval rewrites the record: the requester stays.
            var approved = flow
            approved.status = .approved(alice)
            try b.flows.updateFlow(id: flow.id) { _, _ in FlowUpdate(record: approved, result: ()) }
            #expect(try other.updateFlow(id: flow.id) { record, _ in FlowUpdate(result: record?.requester) } == requester)

            let family = Self.family(requester: requester)
            try b.flows.createRefreshFamily(family)
            #expect(try Self.read(other, family: family.id) == family)
        }
    }

    @Test(arguments: Backend.all)
    func lastUseRoundTripsThroughUpdates(_ backend: Backend) throws {
        let b = try backend.make()
        let family = Self.family(requester: DeviceRequester(address: "192.0.2.4", userAgent: "tv-app/2"))
        try b.flows.createRefreshFamily(family)
        #expect(try Self.read(b.flows, family: family.id)?.lastUsedAt == nil)
        var used = family
        used.currentTokenHash = randomHex()
        used.lastUsedAt = start.adding(seconds: 3600)
        used.lastUsedFrom = "198.51.100.9"
        try b.flows.updateRefreshFamily(id: family.id) { _ in (used, ()) }
        #expect(try Self.read(try b.reopen(), family: family.id) == used)
        #expect(try b.reopen().refreshFamilies(subject: "alice") == [used])
    }

    @Test(arguments: Backend.all)
    func aSubjectsFamiliesAreFoundAtOnceAndOnlyTheirs(_ backend: Backend) throws {
        let b = try backend.make()
        let other = try b.reopen()
        #expect(try b.flows.refreshFamilies(subject: "alice").isEmpty)
        let first = Self.family(), bobs = Self.family(subject: "bob"), second = Self.family()
        try b.flows.createRefreshFamily(first)
        #expect(try other.refreshFamilies(subject: "alice") == [first], "found by another worker right after creation")
        try b.flows.createRefreshFamily(bobs)
        try b.flows.createRefreshFamily(second)
        #expect(Set(try other.refreshFamilies(subject: "alice").map(\.id)) == [first.id, second.id])
        #expect(try other.refreshFamilies(subject: "bob") == [bobs])
        #expect(try other.refreshFamilies(subject: "alic").isEmpty && other.refreshFamilies(subject: "alice ").isEmpty)

        // Rotated, then revoked: still found, once, as it is now.
        var rotated = first
        rotated.currentTokenHash = randomHex()
        try b.flows.updateRefreshFamily(id: first.id) { _ in (rotated, ()) }
        var revoked = rotated
        revoked.revokedAt = start.adding(seconds: 10)
        try other.updateRefreshFamily(id: first.id) { _ in (revoked, ()) }
        let found = try b.flows.refreshFamilies(subject: "alice")
        #expect(found.count == 2 && found.contains(revoked) && found.contains(second))
    }

    @Test(arguments: Backend.all)
    func everyFlowAndEveryFamilyListWhatWasCreated(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try b.flows.everyFlow().isEmpty && b.flows.everyRefreshFamily().isEmpty)
        var flows = [newFlow(), newFlow(), newFlow(status: .denied(at: start))]
        flows[0].requester = DeviceRequester(address: "192.0.2.1", userAgent: "curl/8")
        for flow in flows { try b.flows.createFlow(flow) }
        let families = [Self.family(), Self.family(subject: "bob")]
        for family in families { try b.flows.createRefreshFamily(family) }
        let listed = try b.reopen().everyFlow()
        #expect(listed.count == 3 && Set(listed.map(\.id)) == Set(flows.map(\.id)))
        #expect(listed.first { $0.id == flows[0].id } == flows[0])
        let listedFamilies = try b.reopen().everyRefreshFamily()
        #expect(listedFamilies.count == 2 && Set(listedFamilies.map(\.id)) == Set(families.map(\.id)))
        #expect(listedFamilies.first { $0.id == families[1].id } == families[1])
    }

    @Test(arguments: Backend.all)
    func sessionsAreListedAndFilteredBySubject(_ backend: Backend) throws {
        let b = try backend.make()
        #expect(try b.web.sessions(subject: nil).isEmpty)
        let sessions = [("alice", randomHex()), ("alice", randomHex()), ("bob", randomHex())].map { subject, hash in
            (hash, WebSession(subject: subject, authTime: start, expiresAt: start.adding(seconds: 3600)))
        }
        for (hash, session) in sessions { try b.web.saveSession(idHash: hash, session) }
        let all = try b.web.sessions(subject: nil)
        #expect(Set(all.map(\.idHash)) == Set(sessions.map(\.0)) && all.count == 3)
        let alices = try b.web.sessions(subject: "alice")
        #expect(Set(alices.map(\.idHash)) == Set(sessions.prefix(2).map(\.0)) && alices.allSatisfy { $0.session.subject == "alice" })
        #expect(try b.web.sessions(subject: "bob").map(\.session) == [sessions[2].1])
        #expect(try b.web.sessions(subject: "carol").isEmpty)
    }
}
