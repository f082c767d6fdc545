import DeviceFlow
@testable import DirectoryStorage
import Testing

/// Flow and family files written before issue 14 (no requester, no last use) still read, with
/// those fields nil; files with them read back exactly.
@Suite struct RecordCodingCompatibilityTests {
    static let id = String(repeating: "ab", count: 32)

    static let olderFlow = """
        devicegate-flow 1
        id \(id)
        user_code_key \(id)
        client_id tv
        scope openid
        created_ms 1800000000000
        expires_ms 1800000600000
        interval 5
        status pending
        end

        """

    static let olderFamily = """
        devicegate-family 1
        id \(id)
        client_id tv
        subject alice
        scope openid%20offline_access
        auth_time_ms 1800000000000
        created_ms 1800000000000
        expires_ms 1802592000000
        current \(id)
        revoked_ms 0
        access_tokens \(id):1800003600000
        end

        """

    @Test func aFlowWrittenByTheEarlierVersionReadsWithoutRequester() throws {
        let flow = try RecordCoding.decodeFlow(Array(Self.olderFlow.utf8), path: "old.flow")
        #expect(flow.id == Self.id && flow.status == .pending && flow.requester == nil)
        #expect(RecordCoding.encode(flow) == Array(Self.olderFlow.utf8), "rewritten unchanged: no empty new fields")
    }

    @Test func aFamilyWrittenByTheEarlierVersionReadsWithoutRequesterOrLastUse() throws {
        let family = try RecordCoding.decodeFamily(Array(Self.olderFamily.utf8), path: "old.family")
        #expect(family.subject == "alice" && family.accessTokens.count == 1)
        #expect(family.requester == nil && family.lastUsedAt == nil && family.lastUsedFrom == nil)
        #expect(RecordCoding.encode(family) == Array(Self.olderFamily.utf8))
    }

    @Test(arguments: [DeviceRequester(stored: "2001:db8::1", userAgent: "curl/8.5.0"), DeviceRequester(stored: "", userAgent: nil),
                      DeviceRequester(stored: "192.0.2.1 %x", userAgent: "")])
    func newFieldsReadBack(_ requester: DeviceRequester) throws {
        var flow = try RecordCoding.decodeFlow(Array(Self.olderFlow.utf8), path: "f")
        flow.requester = requester
        #expect(try RecordCoding.decodeFlow(RecordCoding.encode(flow), path: "f") == flow)
        var family = try RecordCoding.decodeFamily(Array(Self.olderFamily.utf8), path: "f")
        family.requester = requester
        family.lastUsedAt = UnixTime(milliseconds: 1_800_000_900_000)
        family.lastUsedFrom = requester.address
        #expect(try RecordCoding.decodeFamily(RecordCoding.encode(family), path: "f") == family)
    }

    @Test func anAgentWithoutAnAddressIsCorrupt() {
        let file = Self.olderFlow.replacingEnd(with: "requester_agent curl\nend\n")
        #expect(throws: FlowStorageError(.corrupt, "f: requester_agent without requester_address")) {
            try RecordCoding.decodeFlow(Array(file.utf8), path: "f")
        }
    }
}

extension String {
    fileprivate func replacingEnd(with tail: String) -> String { String(dropLast(4)) + tail }
}
