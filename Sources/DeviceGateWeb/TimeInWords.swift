import DeviceFlow
import Observability

/// A past moment as a person reads it ("2 minutes ago", "3 days ago", or a date), for the
/// consent page's "who is asking" (RFC 8628 §5.4) and "Your devices". Pure: the page's clock
/// comes in as `now`; the words come from the visitor's messages (`MessageCatalog.text`).
struct TimeInWords: Sendable, Equatable {
    /// The message key (`devices_ago_*`, `devices_on_date`).
    let key: String
    /// Its placeholders' values: `minutes`, `hours`, `days` or `date`.
    let values: [String: String]

    /// Rounded down: under a minute (or in the future, a clock a little ahead) is "just now",
    /// then whole minutes below an hour, whole hours below a day, whole days below 30 days, and
    /// beyond that the UTC date (`2026-12-02`), which reads the same in every language.
    static func since(_ then: UnixTime, now: UnixTime) -> TimeInWords {
        let seconds = max(0, now.milliseconds(since: then) / 1000)
        switch seconds {
        case ..<60: return TimeInWords(key: "devices_ago_now", values: [:])
        case ..<120: return TimeInWords(key: "devices_ago_minute", values: [:])
        case ..<3600: return TimeInWords(key: "devices_ago_minutes", values: ["minutes": "\(seconds / 60)"])
        case ..<7200: return TimeInWords(key: "devices_ago_hour", values: [:])
        case ..<86_400: return TimeInWords(key: "devices_ago_hours", values: ["hours": "\(seconds / 3600)"])
        case ..<172_800: return TimeInWords(key: "devices_ago_day", values: [:])
        case ..<(30 * 86_400): return TimeInWords(key: "devices_ago_days", values: ["days": "\(seconds / 86_400)"])
        default: return TimeInWords(key: "devices_on_date", values: ["date": String(Timestamp.iso8601(then).prefix(10))])
        }
    }

    /// The words in the visitor's language (plain text; the page escapes it).
    func text(in messages: MessageCatalog) -> String { messages.text(key, values) }
}
