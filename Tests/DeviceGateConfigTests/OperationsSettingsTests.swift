import DeviceGateConfig
import Testing

struct OperationsSettingsTests {
    let loader = ConfigurationLoaderTests()

    @Test func defaultsAuditToTheStateDirectoryAndMetricsToLoopback() throws {
        let config = try loader.load(ConfigurationLoaderTests.valid)
        #expect(config.auditDestination == .file(path: "/var/lib/devicegate/audit.jsonl"))
        #expect(config.operations.metricsEnabled)
        #expect(config.operations.metricsPath == "/_devicegate/metrics")
        #expect(config.server.logFormat == .text)
    }

    @Test(arguments: [("/var/log/devicegate/audit.jsonl", AuditDestination.file(path: "/var/log/devicegate/audit.jsonl")),
                      ("-", .standardError), ("off", .off)])
    func auditDestinations(_ text: String, _ expected: AuditDestination) throws {
        let config = try loader.load(ConfigurationLoaderTests.valid + "\naudit:\n  file: \"\(text)\"\n")
        #expect(config.auditDestination == expected)
    }

    @Test func badValuesAreReportedWithTheirLine() {
        let yaml = ConfigurationLoaderTests.valid + """

        audit:
          file: relative/audit.jsonl
        metrics:
          path: metrics
          allow: [127.0.0.1, "10.0.0.0/33", bogus]
          enabled: maybe
        """
        let found = loader.issues(yaml + "\nserver2: 1").map(\.description)
        let lines = ConfigurationLoaderTests.valid.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(found.contains("dg.yaml:\(lines + 2):9: audit.file: expected an absolute file path, - (standard error) or off"))
        #expect(found.contains { $0.hasPrefix("dg.yaml:\(lines + 4):9: metrics.path: must be an absolute path") })
        #expect(found.contains { $0.contains("metrics.allow[1]: '10.0.0.0/33' is not an IP address or CIDR block") })
        #expect(found.contains { $0.contains("metrics.allow[2]: 'bogus'") })
        #expect(found.contains { $0.contains("metrics.enabled: expected true or false") })
    }

    @Test func logFormatFromFileOrEnvironment() throws {
        #expect(try loader.load(ConfigurationLoaderTests.valid, environment: ["DEVICEGATE_LOG_FORMAT": "json"]).server.logFormat == .json)
        #expect(loader.issues(ConfigurationLoaderTests.valid, environment: ["DEVICEGATE_LOG_FORMAT": "xml"]).map(\.description)
                == ["environment DEVICEGATE_LOG_FORMAT: server.log_format: expected text or json"])
    }

    @Test func metricsPathMayNotShadowAnEndpoint() {
        let found = loader.issues(ConfigurationLoaderTests.valid + "\nmetrics:\n  path: /application/o/token/\n").map(\.description)
        #expect(found.contains { $0.contains("metrics.path: is the same path as endpoints.token") })
    }

    @Test(arguments: [
        ("127.0.0.1/8", "127.9.9.9", true), ("127.0.0.1/8", "128.0.0.1", false), ("::1", "::1", true),
        ("::1", "::2", false), ("10.0.0.0/8", "::ffff:10.1.2.3", true), ("fd00::/8", "fd12::1", true),
        ("fd00::/8", "fe80::1", false), ("0.0.0.0/0", "203.0.113.9", true), ("0.0.0.0/0", "2001:db8::1", false),
        ("192.0.2.1", "192.0.2.1", true), ("192.0.2.1", "192.0.2.10", false),
    ])
    func addressBlocks(_ block: String, _ address: String, _ inside: Bool) throws {
        let parsed = try #require(AddressBlock(block))
        let bytes = try #require(AddressBlock.parseAddress(address))
        #expect(parsed.contains(bytes) == inside)
    }
}
