import DeviceFlow
import Observability

/// The operator commands' times: RFC 3339 UTC to the second, and epoch seconds beside them in JSON.
enum OperatorTime {
    /// `2026-12-02T13:45:01Z`.
    static func text(_ time: UnixTime) -> String {
        let precise = Timestamp.iso8601(UnixTime(seconds: time.seconds))  // 2026-12-02T13:45:01.000Z
        return String(precise.dropLast(5)) + "Z"
    }

    /// How long ago `earlier` was, in the largest whole unit: `45s`, `12m`, `3h`, `2d`.
    static func age(from earlier: UnixTime, to now: UnixTime) -> String {
        let seconds = max(0, now.milliseconds(since: earlier) / 1000)
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<7_200: return "\(seconds / 60)m"
        case ..<172_800: return "\(seconds / 3_600)h"
        default: return "\(seconds / 86_400)d"
        }
    }
}

extension JSONObject {
    /// `name` (RFC 3339 UTC) and `name_epoch` (seconds), or both null.
    mutating func add(_ name: String, time: UnixTime?) {
        if let time {
            add(name, OperatorTime.text(time))
            add(name + "_epoch", Int(time.seconds))
        } else {
            addNull(name)
            addNull(name + "_epoch")
        }
    }

    /// `value`, or null.
    mutating func add(_ name: String, optional value: String?) {
        if let value { add(name, value) } else { addNull(name) }
    }

    /// One JSON document, an array of `objects`, one per line, for `--json`.
    static func document(_ objects: [JSONObject]) -> String {
        let lines = objects.map { String(decoding: $0.finished(), as: UTF8.self) }
        return lines.isEmpty ? "[]\n" : "[\n" + lines.joined(separator: ",\n") + "\n]\n"
    }
}
