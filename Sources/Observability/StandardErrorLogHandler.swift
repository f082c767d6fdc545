#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import Logging

/// The workers' and the supervisor's logs: one line per event on standard error, which
/// systemd hands to the journal.
///
/// - `server.log_format: text` (the default): swift-log's `StreamLogHandler` line format,
///   `2026-11-27T04:05:02+0000 info devicegate.worker: pid=23566 request.id=… [FastCGIServer] worker stopping`.
///   Unlike `StreamLogHandler`, the metadata is rendered when a line is written, not every
///   time it changes: each worker sets `request.id` on every request whether or not a line is
///   then logged, and re-rendering it cost about 5% of a worker's time on token polls
///   (`perf record`), which log nothing.
/// - `server.log_format: json`: one JSON object per line, for log shippers (journald keeps it
///   as the MESSAGE; Loki, Vector or fluent-bit parse it):
///   `{"time":"…","level":"info","logger":"devicegate.worker","message":"tokens issued","pid":"…","request.id":"…",…}`.
///   The metadata keys are the same as in the text format, so a request's lines share its
///   `request.id` (nginx's `$request_id`, passed as the REQUEST_ID FastCGI parameter).
public struct StandardErrorLogHandler: LogHandler {
    public enum Format: Sendable { case text, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: Format

    public init(label: String, format: Format = .text) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        switch format {
        case .text:
            if let error = event.error {
                merged["error.message"] = "\(error)"
                merged["error.type"] = "\(String(reflecting: type(of: error)))"
            }
            StandardError.write(Self.textLine(timestamp: Self.localTimestamp(), level: event.level, label: label,
                                              metadata: merged, source: event.source, message: event.message.description))
        case .json:
            if let error = event.error { merged["error"] = "\(error)" }
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            var object = JSONObject()
            object.add("time", Timestamp.iso8601(UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)))
            object.add("level", event.level.rawValue)
            object.add("logger", label)
            object.add("message", event.message.description)
            for key in merged.keys.sorted() { object.add(key, "\(merged[key]!)") }
            StandardError.write(object.finished() + [0x0A])
        }
    }

    /// One text-format line. Every metadata value and the message go through `LogText.escaped`,
    /// so a value from a request (a REMOTE_USER, a client id) with spaces, quotes, `=` or a
    /// newline can neither add a field nor start a line of its own (issue 10, item 10).
    static func textLine(timestamp: String, level: Logger.Level, label: String, metadata: Logger.Metadata,
                         source: String, message: String) -> [UInt8] {
        let pretty = metadata.isEmpty ? "" : " " + metadata.sorted { $0.key < $1.key }
            .map { "\(LogText.lineSafe($0.key))=\(LogText.escaped("\($0.value)"))" }.joined(separator: " ")
        return Array("\(timestamp) \(level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(source)] \(LogText.lineSafe(message))\n".utf8)
    }

    /// `StreamLogHandler`'s timestamp: local time, `%Y-%m-%dT%H:%M:%S%z`.
    static func localTimestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Standard error, written with write(2) directly: a line is one call (so lines of several
/// processes sharing the journal's pipe do not interleave), retried on EINTR and after a
/// partial write. Logs, the audit log's `audit.file: -`, and the command line's messages.
public enum StandardError {
    public static func write(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}
