import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import Testing

/// `devicegate storage copy` (`StateCopy`) from a state directory into every backend: who asked
/// for a flow and a grant, and a grant's last use, arrive; the grant is found by its subject on
/// the target (its index made there by `createRefreshFamily`); a second run carries a later use.
@Suite struct StateCopyTests {
    @Test(arguments: Backend.all)
    func requestersLastUseAndTheSubjectIndexSurviveACopy(_ backend: Backend) throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let source = StateDirectory(root: temp.path + "/source")
        try source.prepare()
        let from = try FileFlowStore(directory: source), fromWeb = try FileWebStateStore(directory: source)

        var flow = newFlow(createdAt: start.adding(seconds: 60))
        flow.requester = DeviceRequester(address: "2001:db8::5", userAgent: "tv-app/3.1")
        try from.createFlow(flow)
        var family = ListingConformanceTests.family(requester: DeviceRequester(address: "192.0.2.8", userAgent: "curl/8.5.0"))
        try from.createRefreshFamily(family)
        let firstToken = family.currentTokenHash
        family.currentTokenHash = randomHex()
        family.lastUsedAt = start.adding(seconds: 30)
        family.lastUsedFrom = "192.0.2.9"
        try from.updateRefreshFamily(id: family.id) { [family] _ in (family, ()) }

        let target = try backend.make()
        let copy = StateCopy(source: source, from: from, fromWeb: fromWeb, to: target.flows, toWeb: target.web, now: start.adding(seconds: 61))
        var counts = StateCopy.Counts()
        try copy.run(into: &counts, knownSubjects: [])
        #expect(counts.flows == 1 && counts.refreshFamilies == 1)
        #expect(try target.flows.updateFlow(id: flow.id) { record, _ in FlowUpdate(result: record) } == flow)
        #expect(try target.flows.refreshFamilies(subject: "alice") == [family])
        #expect(try target.flows.refreshFamilyID(forTokenHash: firstToken) == family.id, "the rotated-away token came along")

        // Used again on the old install before the second run: the later use is carried over.
        family.lastUsedAt = start.adding(seconds: 50)
        family.lastUsedFrom = "198.51.100.1"
        try from.updateRefreshFamily(id: family.id) { [family] _ in (family, ()) }
        try copy.run(into: &counts, knownSubjects: [])
        #expect(try target.flows.refreshFamilies(subject: "alice") == [family])
    }
}
