import DeviceGateConfig
import Testing

/// `admission:`: production defaults, overrides, and file:line errors for bad values.
struct AdmissionSettingsTests {
    let loader = ConfigurationLoaderTests()

    @Test func defaultsFitAFleetBehindOneNAT() throws {
        let admission = try loader.load(ConfigurationLoaderTests.valid).admission
        #expect(admission.maxPendingPerClient == 100_000)
        #expect(admission.maxPendingPerAddress == 1_000)
        #expect(admission.maxPendingPerIPv6Network48 == 5_000)
        #expect(admission.reservePercent == 5)
        #expect(admission.reserveCheckIntervalMilliseconds == 250)
    }

    @Test func everyKeyCanBeSet() throws {
        let yaml = ConfigurationLoaderTests.valid + """

        admission:
          max_pending_per_client: 0
          max_pending_per_address: 20
          max_pending_per_ipv6_48: 70
          reserve_percent: 25
          reserve_check_interval_ms: 0
        """
        let admission = try loader.load(yaml).admission
        #expect(admission.policy.maxPendingPerClient == 0)
        #expect(admission.policy.maxPendingPerAddress == 20)
        #expect(admission.policy.maxPendingPerNetwork == 70)
        #expect(admission.reserve.floorPercent == 25)
        #expect(admission.reserve.maxReadingAgeMilliseconds == 0)
    }

    @Test func badValuesAreReportedWithTheirLine() {
        let yaml = ConfigurationLoaderTests.valid + """

        admission:
          max_pending_per_address: -1
          reserve_percent: 80
          reserve_check_interval_ms: soon
          max_pending: 5
        """
        let lines = ConfigurationLoaderTests.valid.split(separator: "\n", omittingEmptySubsequences: false).count
        let found = loader.issues(yaml).map(\.description)
        #expect(found.contains("dg.yaml:\(lines + 2):28: admission.max_pending_per_address: must be between 0 and 100000000"))
        #expect(found.contains("dg.yaml:\(lines + 3):20: admission.reserve_percent: must be between 0 and 50"))
        #expect(found.contains("dg.yaml:\(lines + 4):30: admission.reserve_check_interval_ms: expected a whole number"))
        #expect(found.contains { $0.hasPrefix("dg.yaml:\(lines + 5):3: admission.max_pending: unknown key") })
    }
}
