import DeviceFlow
import DeviceGateTesting
import Testing

/// A person's grants through `FlowService` ("Your devices", `devicegate grants`): what is listed
/// and what revoking one does, on the in-memory store (every backend's own listing is held to
/// the same promises by the conformance suite).
struct GrantListingTests {
    static let tv = ClientRegistration(clientID: "tv", displayName: "Living-room TV", kind: .public,
                                       allowedScopes: ScopeSet(["openid", "offline_access"]), defaultScopes: ScopeSet(["openid", "offline_access"]))
    let store = MemoryFlowStore()
    let clock = ManualClock()

    var service: FlowService {
        FlowService(store: store, clients: ClientRegistry([Self.tv]), policy: FlowPolicy(verificationURI: "https://auth.example.com/device"),
                    issuer: OpaqueTokenIssuer(accessTokenLifetime: 3600), refreshTokenLifetime: 86_400)
    }

    /// A device flow started from `address`, approved by `subject` and redeemed.
    func approvedGrant(_ subject: String, from address: String = "198.51.100.20") throws -> IssuedTokens {
        let started = try service.authorizeDevice(client: Self.tv, scope: ScopeSet(["openid", "offline_access"]),
                                                  requester: DeviceRequester(address: address, userAgent: "SmartTV/3.2 (Linux)"), now: clock.now())
        clock.advance(seconds: 10)
        _ = try service.approve(userCode: started.userCode, subject: subject, authTime: clock.now(), now: clock.now())
        clock.advance(seconds: 5)
        guard case .tokens(let tokens) = try service.poll(deviceCode: started.deviceCode, client: Self.tv, now: clock.now()) else {
            Issue.record("the approved flow issued no tokens")
            throw CancellationError()
        }
        return tokens
    }

    @Test func aGrantCarriesTheDeviceThatAskedAndItsLastUse() throws {
        let tokens = try approvedGrant("alice")
        var grants = try service.grants(subject: "alice", now: clock.now())
        #expect(grants.count == 1)
        #expect(grants.first?.requester == DeviceRequester(stored: "198.51.100.20", userAgent: "SmartTV/3.2"))
        #expect(grants.first?.lastUsedAt == nil)

        clock.advance(seconds: 60)
        guard case .tokens = try service.refresh(refreshToken: tokens.refreshToken!, client: Self.tv, requestedScope: nil,
                                                 from: "203.0.113.9", now: clock.now()) else {
            Issue.record("the refresh was refused"); return
        }
        grants = try service.grants(subject: "alice", now: clock.now())
        #expect(grants.first?.lastUsedAt == clock.now() && grants.first?.lastUsedFrom == "203.0.113.9")
    }

    @Test func onlyTheSubjectsLiveGrantsAreListedNewestFirst() throws {
        _ = try approvedGrant("alice")
        clock.advance(seconds: 30)
        _ = try approvedGrant("alice")
        _ = try approvedGrant("bob")
        let grants = try service.grants(subject: "alice", now: clock.now())
        #expect(grants.count == 2 && grants.allSatisfy { $0.subject == "alice" })
        #expect(grants[0].createdAt > grants[1].createdAt)

        _ = try service.revokeGrant(id: grants[0].id, subject: "alice", now: clock.now())
        #expect(try service.grants(subject: "alice", now: clock.now()).map(\.id) == [grants[1].id])
        clock.advance(seconds: 86_400)
        #expect(try service.grants(subject: "alice", now: clock.now()).isEmpty, "an expired grant is not listed")
    }

    @Test func aSubjectRevokedAfterTheGrantHasNoGrantsListed() throws {
        _ = try approvedGrant("alice")
        clock.advance(seconds: 1)
        try store.revokeSubject("alice", at: clock.now(), keepUntil: clock.now().adding(seconds: 86_400))
        #expect(try service.grants(subject: "alice", now: clock.now()).isEmpty)
        clock.advance(seconds: 1)
        _ = try approvedGrant("alice")
        #expect(try service.grants(subject: "alice", now: clock.now()).count == 1, "a grant made after the revocation is listed")
    }

    /// Disconnecting revokes the family and the access tokens issued from it: the refresh is
    /// refused and the access token is revoked for every reader of the store.
    @Test func revokingAGrantRevokesItsRefreshTokenAndAccessTokens() throws {
        let tokens = try approvedGrant("alice")
        let grant = try #require(try service.grants(subject: "alice", now: clock.now()).first)
        #expect(try !store.isAccessTokenRevoked(id: tokens.accessTokenID))

        let answer = try service.revokeGrant(id: grant.id, subject: "alice", now: clock.now())
        guard case .revoked(let family) = answer else { Issue.record("answered \(answer)"); return }
        #expect(family.revokedAt == clock.now())
        #expect(try store.isAccessTokenRevoked(id: tokens.accessTokenID))
        let refresh = try service.refresh(refreshToken: tokens.refreshToken!, client: Self.tv, requestedScope: nil, now: clock.now())
        #expect(refresh == .error(.invalidGrant("refresh_token has been revoked")))
        guard case .alreadyRevoked = try service.revokeGrant(id: grant.id, subject: nil, now: clock.now()) else {
            Issue.record("a second revocation should find it revoked"); return
        }
    }

    /// Another person's grant, an unknown id and a malformed one get the same answer and change
    /// nothing, so that grant ids cannot be probed from someone else's session.
    @Test func anotherSubjectsUnknownAndMalformedIdsAreAllUnknown() throws {
        let tokens = try approvedGrant("alice")
        let grant = try #require(try service.grants(subject: "alice", now: clock.now()).first)
        for (id, subject) in [(grant.id, "bob"), (String(repeating: "a", count: 64), "alice"), ("../../etc/passwd", "alice"),
                              (grant.id.uppercased(), "alice"), ("", "alice")] {
            #expect(try service.revokeGrant(id: id, subject: subject, now: clock.now()) == .unknown, "\(id) for \(subject)")
        }
        #expect(try !store.isAccessTokenRevoked(id: tokens.accessTokenID))
        #expect(try service.grants(subject: "alice", now: clock.now()).count == 1)
    }
}
