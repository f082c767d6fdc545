import DeviceFlow
import DeviceGateConfig

/// What the consent page tells the person about the device that asked, RFC 8628 §5.4 (remote
/// phishing: the code may have been started by an attacker and sent to the person): when the
/// request was made, whether it came from the approver's own network, its address and its HTTP
/// client product. Pure: the flow record, the approver's address and the page's clock come in.
///
/// The device's address and product are its own words (`DeviceRequester` kept only printable
/// ASCII); the page escapes them like every other value.
struct WhoIsAsking: Sendable, Equatable {
    /// How the §5.4 warning is worded.
    enum Warning: Sendable, Equatable {
        /// The consent page's own warning alone.
        case usual
        /// The networks differ (or cannot be compared): a second, more urgent warning as well.
        case urgent
    }

    let age: TimeInWords
    /// Whether it came from the approver's IPv4 /24 or IPv6 /64, another one, or an address
    /// that cannot be compared (`NetworkProximity`).
    let proximity: NetworkProximity
    var sameNetwork: Bool { proximity == .sameNetwork }
    /// The device's address as the web server saw it; empty when none was kept.
    let address: String
    /// The device's HTTP client product ("curl/8.5.0"), when it sent one.
    let product: String?

    /// nil for a record written before the requester was kept: the page then shows nothing.
    init?(_ record: DeviceFlowRecord, approverAddress: String, now: UnixTime) {
        guard let requester = record.requester else { return nil }
        age = TimeInWords.since(record.createdAt, now: now)
        proximity = NetworkProximity.between(requester.address, approverAddress)
        address = requester.address
        product = requester.userAgent
    }

    /// Only "same network" is reassuring; another network, or one that cannot be told, is not.
    var warning: Warning { sameNetwork ? .usual : .urgent }

    /// The `who_is_asking` partial's values, worded in `messages`.
    func values(in messages: MessageCatalog) -> [String: Any] {
        var values: [String: Any] = [
            "asking": true,
            "asking_age": age.text(in: messages),
            "asking_network": messages.text(Self.networkKey[proximity]!),
        ]
        if !address.isEmpty { values["asking_address"] = address }
        if let product { values["asking_product"] = product }
        if warning == .urgent {
            values["asking_urgent"] = true
            // Only what is known is said: "another network" when the addresses differ, "cannot
            // be checked" when one is missing or not an address.
            values["asking_urgent_title"] = messages.text(proximity == .unknown ? "asking_unknown_title" : "asking_urgent_title")
        }
        return values
    }

    static let networkKey: [NetworkProximity: String] = [
        .sameNetwork: "asking_your_network", .otherNetwork: "asking_other_network", .unknown: "asking_unknown_network",
    ]
}
