/// The Prometheus text exposition format (version 0.0.4) of the counters of every process of
/// the host, added up, and of the garbage collector's census of flows.
public enum MetricsExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Adds up the pages of every process.
    public static func sum(_ pages: [[UInt64]]) -> [UInt64] {
        var total = [UInt64](repeating: 0, count: MetricsLayout.count)
        for page in pages where page.count == MetricsLayout.count {
            for i in 0..<MetricsLayout.count { total[i] &+= page[i] }
        }
        return total
    }

    static func seconds(microseconds: UInt64) -> String {
        let whole = microseconds / 1_000_000, fraction = microseconds % 1_000_000
        let digits = String(fraction)
        return "\(whole).\(String(repeating: "0", count: 6 - digits.count))\(digits)"
    }

    static func le(_ microseconds: UInt64) -> String {
        var text = seconds(microseconds: microseconds)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// `values`: the sum of every page (`sum`); `census`: the census page, if the supervisor keeps one.
    public static func render(_ values: [UInt64], census: [UInt64]?) -> String {
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        let endpoints = MetricsLayout.Endpoint.allCases
        let statusLabels = MetricsLayout.statuses.map(String.init) + ["other"]
        var requestCounts = [UInt64](repeating: 0, count: endpoints.count)

        header("devicegate_http_requests_total", "counter", "Requests answered by the workers, by endpoint and HTTP status.")
        for endpoint in endpoints {
            for (s, label) in statusLabels.enumerated() {
                let value = values[MetricsLayout.requestsBase + endpoint.rawValue * MetricsLayout.statusSlots + s]
                requestCounts[endpoint.rawValue] &+= value
                if value > 0 { out += "devicegate_http_requests_total{endpoint=\"\(endpoint.label)\",status=\"\(label)\"} \(value)\n" }
            }
        }

        header("devicegate_http_request_duration_seconds", "histogram",
               "Time a worker spent on a request, from reading its FastCGI parameters to its response, by endpoint.")
        for endpoint in endpoints where requestCounts[endpoint.rawValue] > 0 {
            var cumulative: UInt64 = 0
            for (b, bound) in MetricsLayout.bucketBoundsMicroseconds.enumerated() {
                cumulative &+= values[MetricsLayout.bucketsBase + endpoint.rawValue * MetricsLayout.bucketBoundsMicroseconds.count + b]
                out += "devicegate_http_request_duration_seconds_bucket{endpoint=\"\(endpoint.label)\",le=\"\(le(bound))\"} \(cumulative)\n"
            }
            let count = requestCounts[endpoint.rawValue]
            out += "devicegate_http_request_duration_seconds_bucket{endpoint=\"\(endpoint.label)\",le=\"+Inf\"} \(count)\n"
            out += "devicegate_http_request_duration_seconds_sum{endpoint=\"\(endpoint.label)\"} \(seconds(microseconds: values[MetricsLayout.latencySum(endpoint)]))\n"
            out += "devicegate_http_request_duration_seconds_count{endpoint=\"\(endpoint.label)\"} \(count)\n"
        }

        header("devicegate_audit_events_total", "counter", "Audit events by kind (the audit log's event field).")
        for kind in AuditEvent.Kind.allCases {
            out += "devicegate_audit_events_total{event=\"\(kind.rawValue)\"} \(values[MetricsLayout.event(kind)])\n"
        }
        header("devicegate_lockouts_total", "counter", "Failure limits reached (RFC 8628 §5.1 user-code guessing, password guessing).")
        out += "devicegate_lockouts_total \(values[MetricsLayout.event(.lockout)])\n"
        header("devicegate_worker_restarts_total", "counter", "Workers that died unexpectedly and were restarted by the supervisor.")
        out += "devicegate_worker_restarts_total \(values[MetricsLayout.workerRestarts])\n"
        header("devicegate_storage_failures_total", "counter", "Requests that failed because the state directory did (a full disk, an I/O error): answered 503.")
        out += "devicegate_storage_failures_total \(values[MetricsLayout.storageFailures])\n"
        header("devicegate_audit_write_failures_total", "counter", "Audit events that could not be written to the audit log.")
        out += "devicegate_audit_write_failures_total \(values[MetricsLayout.auditWriteFailures])\n"

        if let census, census.count == MetricsLayout.censusCount {
            header("devicegate_workers", "gauge", "Worker processes the supervisor keeps running.")
            out += "devicegate_workers \(census[MetricsLayout.censusWorkers])\n"
            header("devicegate_flows", "gauge",
                   "Device flows in the state directory by state, as the garbage collector last counted them (within 2% of one core: a small directory every second, a large one in one full cycle of its 256 shards).")
            for (s, state) in MetricsLayout.flowStates.enumerated() {
                var total: UInt64 = 0
                for shard in 0..<MetricsLayout.censusShards { total &+= census[MetricsLayout.census(shard: shard, state: s)] }
                out += "devicegate_flows{state=\"\(state)\"} \(total)\n"
            }
        }
        return out
    }
}
