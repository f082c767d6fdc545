#if canImport(Glibc)
import Glibc
#endif
import DeviceFlow
import Logging

/// `server.log_format: json`: one JSON object per line on standard error, for log shippers
/// (journald keeps it as the MESSAGE; Loki, Vector or fluent-bit parse it).
///
/// `{"time":"…","level":"info","logger":"devicegate.worker","message":"tokens issued","pid":"…","request.id":"…",…}`:
/// the metadata keys are the same as in the text format, so a request's lines share its
/// `request.id` (nginx's `$request_id`, passed as the REQUEST_ID FastCGI parameter).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(level: event.level, message: event.message, explicit: event.metadata, error: event.error)
    }

    func write(level: Logger.Level, message: Logger.Message, explicit: Logger.Metadata?, error: (any Error)?) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var object = JSONObject()
        object.add("time", Timestamp.iso8601(UnixTime(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)))
        object.add("level", level.rawValue)
        object.add("logger", label)
        object.add("message", message.description)
        var merged = metadata
        if let explicit { merged.merge(explicit) { _, new in new } }
        if let error { merged["error"] = "\(error)" }
        for key in merged.keys.sorted() { object.add(key, "\(merged[key]!)") }
        let bytes = object.finished() + [0x0A]
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
