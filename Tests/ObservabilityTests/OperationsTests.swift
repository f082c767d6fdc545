#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import DeviceGateTesting
import DirectoryStorage
import HostFiles
import Logging
import Observability
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_800_000_000_000, "2027-01-15T08:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func utcWithMilliseconds(_ ms: Int64, _ expected: String) {
        #expect(Timestamp.iso8601(UnixTime(milliseconds: ms)) == expected)
    }
}

@Suite struct AuditEventTests {
    @Test func lineHasFixedFieldOrderAndOnlyAFlowPrefix() {
        let event = AuditEvent(.flowApproved, time: UnixTime(milliseconds: 1_800_000_000_123), address: "192.0.2.7", user: "alice",
                               clientID: "tv", flowID: String(repeating: "ab", count: 32), scope: "openid profile",
                               requestID: "r1", details: [("via", "web")])
        #expect(String(decoding: event.jsonLine(), as: UTF8.self) ==
                #"{"time":"2027-01-15T08:00:00.123Z","event":"flow.approved","user":"alice","client_id":"tv","ip":"192.0.2.7","flow":"abababababab","scope":"openid profile","via":"web","request_id":"r1"}"#)
    }

    @Test func hostileValuesStayInsideTheirStringsAndOneLine() {
        let event = AuditEvent(.signInFailed, time: UnixTime(milliseconds: 0), address: "::1",
                               user: "eve\"}\n{\"event\":\"flow.approved", requestID: "")
        let line = String(decoding: event.jsonLine(), as: UTF8.self)
        #expect(!line.contains("\n"))
        #expect(line.contains(#""user":"eve\"}\n{\"event\":\"flow.approved""#))
        #expect(!line.contains("request_id"))  // an empty request id is left out
    }
}

@Suite struct CounterPageTests {
    func state() throws -> (TemporaryDirectory, StateDirectory) {
        let temp = TemporaryDirectory()
        let dir = StateDirectory(root: temp.path + "/state")
        try dir.prepare()
        return (temp, dir)
    }

    @Test func eachProcessGetsItsOwnSlotAndTheReaderAddsThemUp() throws {
        let (temp, dir) = try state()
        defer { temp.remove() }
        // flock conflicts between open file descriptions, so two claims in one process act as two workers.
        let a = try CounterPage.claimSlot(in: dir.root, layout: 7, count: 4)
        let b = try CounterPage.claimSlot(in: dir.root, layout: 7, count: 4)
        #expect(a.path.hasSuffix("slot-0") && b.path.hasSuffix("slot-1"))
        a.add(0); a.add(0); a.add(3, 40)
        b.add(0); b.add(3, 2)
        b.add(99)  // out of range: ignored, never a trap
        let pages = CounterPage.readSlots(in: dir.root, layout: 7, count: 4)
        #expect(pages.count == 2)
        #expect(pages.reduce(into: [UInt64](repeating: 0, count: 4)) { sum, page in for i in 0..<4 { sum[i] += page[i] } } == [3, 0, 0, 42])
    }

    @Test func aRestartedProcessContinuesFromItsSlotSoCountersNeverGoDown() throws {
        let (temp, dir) = try state()
        defer { temp.remove() }
        var first: CounterPage? = try CounterPage.claimSlot(in: dir.root, layout: 7, count: 2)
        first?.add(1, 5)
        first = nil  // the process "dies": its flock goes with its descriptor
        let second = try CounterPage.claimSlot(in: dir.root, layout: 7, count: 2)
        #expect(second.path.hasSuffix("slot-0"))
        second.add(1)
        #expect(CounterPage.readSlots(in: dir.root, layout: 7, count: 2) == [[0, 6]])
        let mode = try #require(fileStatus(second.path)).st_mode & 0o777
        #expect(mode == 0o600)
    }

    @Test func aPageOfAnotherLayoutIsResetWhenClaimedAndSkippedWhenRead() throws {
        let (temp, dir) = try state()
        defer { temp.remove() }
        var old: CounterPage? = try CounterPage.claimSlot(in: dir.root, layout: 1, count: 2)
        old?.add(0, 9)
        #expect(CounterPage.readSlots(in: dir.root, layout: 2, count: 2).isEmpty)
        old = nil
        let new = try CounterPage.claimSlot(in: dir.root, layout: 2, count: 2)
        #expect(new[0] == 0)
        #expect(CounterPage.readSlots(in: dir.root, layout: 2, count: 2) == [[0, 0]])
    }

    @Test func aNamedPageHasOneHolder() throws {
        let (temp, dir) = try state()
        defer { temp.remove() }
        let holder = try CounterPage.claim(named: "census", in: dir.root, layout: 3, count: 1)
        #expect(holder != nil)
        #expect(try CounterPage.claim(named: "census", in: dir.root, layout: 3, count: 1) == nil)
        holder?[0] = 12
        #expect(CounterPage.read(named: "census", in: dir.root, layout: 3, count: 1) == [12])
    }

    func fileStatus(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 ? st : nil
    }
}

@Suite struct TelemetryTests {
    func page() throws -> (TemporaryDirectory, StateDirectory, CounterPage) {
        let temp = TemporaryDirectory()
        let dir = StateDirectory(root: temp.path + "/state")
        try dir.prepare()
        return (temp, dir, try CounterPage.claimSlot(in: dir.root, layout: MetricsLayout.id, count: MetricsLayout.count))
    }

    @Test func requestsAreCountedByEndpointStatusAndLatencyBucket() throws {
        let (temp, dir, page) = try page()
        defer { temp.remove() }
        let telemetry = Telemetry(audit: nil, counters: page, logger: Logger(label: "t"))
        telemetry.observe(.token, status: 400, microseconds: 300)       // bucket le=0.0005
        telemetry.observe(.token, status: 400, microseconds: 4_000)     // le=0.005
        telemetry.observe(.token, status: 200, microseconds: 9_000_000) // above every bound: +Inf only
        telemetry.observe(.authCheck, status: 999, microseconds: 100)   // an uncounted status is "other"
        let text = MetricsExposition.render(MetricsExposition.sum(CounterPage.readSlots(in: dir.root, layout: MetricsLayout.id, count: MetricsLayout.count)), census: nil)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"devicegate_http_requests_total{endpoint="token",status="400"} 2"#,
            #"devicegate_http_requests_total{endpoint="token",status="200"} 1"#,
            #"devicegate_http_requests_total{endpoint="auth_check",status="other"} 1"#,
            #"devicegate_http_request_duration_seconds_bucket{endpoint="token",le="0.00025"} 0"#,
            #"devicegate_http_request_duration_seconds_bucket{endpoint="token",le="0.0005"} 1"#,
            #"devicegate_http_request_duration_seconds_bucket{endpoint="token",le="0.005"} 2"#,
            #"devicegate_http_request_duration_seconds_bucket{endpoint="token",le="2.5"} 2"#,
            #"devicegate_http_request_duration_seconds_bucket{endpoint="token",le="+Inf"} 3"#,
            #"devicegate_http_request_duration_seconds_sum{endpoint="token"} 9.004300"#,
            #"devicegate_http_request_duration_seconds_count{endpoint="token"} 3"#,
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // Endpoints with no requests have no histogram series.
        #expect(!text.contains(#"endpoint="jwks""#))
    }

    @Test func auditEventsAreCountedAndAFailedWriteIsCountedNotThrown() throws {
        let (temp, dir, page) = try page()
        defer { temp.remove() }
        let sink = RecordingAuditSink()
        let telemetry = Telemetry(audit: sink, counters: page, logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
        telemetry.record(AuditEvent(.lockout, time: UnixTime(milliseconds: 0), address: "192.0.2.1"))
        sink.failing = true
        telemetry.record(AuditEvent(.flowApproved, time: UnixTime(milliseconds: 1), address: "192.0.2.1"))
        #expect(sink.kinds() == [.lockout])
        let text = MetricsExposition.render(MetricsExposition.sum(CounterPage.readSlots(in: dir.root, layout: MetricsLayout.id, count: MetricsLayout.count)), census: nil)
        #expect(text.contains("devicegate_lockouts_total 1\n"))
        #expect(text.contains(#"devicegate_audit_events_total{event="flow.approved"} 1"#))
        #expect(text.contains("devicegate_audit_write_failures_total 1\n"))
    }

    @Test func flowGaugeAddsUpTheShardsOfTheCensus() {
        var census = [UInt64](repeating: 0, count: MetricsLayout.censusCount)
        census[MetricsLayout.censusWorkers] = 4
        census[MetricsLayout.census(shard: 0, state: 0)] = 2
        census[MetricsLayout.census(shard: 255, state: 0)] = 3
        census[MetricsLayout.census(shard: 17, state: 4)] = 7
        let text = MetricsExposition.render([UInt64](repeating: 0, count: MetricsLayout.count), census: census)
        #expect(text.contains("devicegate_workers 4\n"))
        #expect(text.contains(#"devicegate_flows{state="pending"} 5"#))
        #expect(text.contains(#"devicegate_flows{state="expired"} 7"#))
        #expect(text.contains(#"devicegate_flows{state="approved"} 0"#))
    }

    @Test func everyMetricHasHelpAndTypeBeforeItsSamples() {
        let text = MetricsExposition.render([UInt64](repeating: 1, count: MetricsLayout.count),
                                            census: [UInt64](repeating: 1, count: MetricsLayout.censusCount))
        var declared: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { declared.insert(String(line.split(separator: " ")[2])); continue }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                n.hasSuffix(suffix) && declared.contains(String(n.dropLast(suffix.count))) ? String(n.dropLast(suffix.count)) : n
            }
            #expect(declared.contains(family), "sample before its TYPE: \(line)")
        }
    }
}

@Suite struct AuditLogFileTests {
    @Test func linesAppendAndARotatedFileIsFollowed() throws {
        let temp = TemporaryDirectory()
        defer { temp.remove() }
        let path = temp.path + "/audit.jsonl"
        let sink = try FileAuditSink(path: path)
        try sink.write(AuditEvent(.signInSucceeded, time: UnixTime(milliseconds: 0), address: "::1", user: "alice"))
        #expect(rename(path, path + ".1") == 0)  // logrotate moves it away
        sleep(1)  // the path is checked at most once a second
        try sink.write(AuditEvent(.signInFailed, time: UnixTime(milliseconds: 0), address: "::1", user: "bob"))
        let rotated = readText(path + ".1"), fresh = readText(path)
        #expect(rotated.split(separator: "\n").count == 1 && rotated.contains("alice"))
        #expect(fresh.split(separator: "\n").count == 1 && fresh.contains("bob"))
    }

    func readText(_ path: String) -> String {
        guard let f = fopen(path, "r") else { return "" }
        defer { fclose(f) }
        var out = [UInt8](), buffer = [UInt8](repeating: 0, count: 4096)
        while true { let n = fread(&buffer, 1, 4096, f); out += buffer[0..<n]; if n < 4096 { break } }
        return String(decoding: out, as: UTF8.self)
    }
}
