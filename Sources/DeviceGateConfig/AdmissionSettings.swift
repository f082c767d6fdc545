import DeviceFlow
import Yams

/// `admission:`, what unauthenticated device authorizations may cost (RFC 8628 §3.1 needs
/// only a public client_id): caps on live pending flows and the state filesystem's reserve.
///
/// A flow counts from its device authorization until its code expires (`lifetimes.device_code`,
/// 600 s by default), approved or not; see `ExpiryBuckets`.
public struct AdmissionSettings: Sendable, Equatable {
    /// `admission.max_pending_per_client`: 100,000 flows started within one code lifetime
    /// (about 170 a second for 10 minutes), 0 for no cap.
    public var maxPendingPerClient = 100_000
    /// `admission.max_pending_per_address`: 1,000 per IPv4 address or IPv6 /64 within one code
    /// lifetime: a hotel, campus or carrier NAT full of TVs that all sign in within the same
    /// ten minutes still fits. 0 for no cap.
    public var maxPendingPerAddress = 1_000
    /// `admission.max_pending_per_ipv6_48`: 5,000 per IPv6 /48 within one code lifetime, so one
    /// subscriber walking the /64s of its /56 or /48 cannot fill the client's cap. 0 for no cap.
    public var maxPendingPerIPv6Network48 = 5_000
    /// `admission.reserve_percent`: new device authorizations are refused (503) while free
    /// blocks or free inodes of the state filesystem are below this share of the total; 0
    /// keeps no reserve.
    public var reservePercent = 5
    /// `admission.reserve_check_interval_ms`: each worker re-reads statvfs at most this often.
    public var reserveCheckIntervalMilliseconds = 250

    public init() {}

    public var policy: FlowAdmissionPolicy {
        FlowAdmissionPolicy(maxPendingPerClient: maxPendingPerClient, maxPendingPerAddress: maxPendingPerAddress,
                            maxPendingPerNetwork: maxPendingPerIPv6Network48)
    }

    public var reserve: StorageReserve {
        StorageReserve(floorPercent: reservePercent, maxReadingAgeMilliseconds: Int64(reserveCheckIntervalMilliseconds))
    }
}

extension Reader {
    mutating func readAdmission(_ node: Node, into settings: inout AdmissionSettings) {
        let keys: Set<String> = ["max_pending_per_client", "max_pending_per_address", "max_pending_per_ipv6_48", "reserve_percent", "reserve_check_interval_ms"]
        for (key, value) in mapping(node, "admission", allowed: keys) {
            let path = "admission.\(key)"
            switch key {
            case "max_pending_per_client": settings.maxPendingPerClient = int(value, path, range: 0...100_000_000) ?? settings.maxPendingPerClient
            case "max_pending_per_address": settings.maxPendingPerAddress = int(value, path, range: 0...100_000_000) ?? settings.maxPendingPerAddress
            case "max_pending_per_ipv6_48": settings.maxPendingPerIPv6Network48 = int(value, path, range: 0...100_000_000) ?? settings.maxPendingPerIPv6Network48
            case "reserve_percent": settings.reservePercent = int(value, path, range: 0...50) ?? settings.reservePercent
            case "reserve_check_interval_ms":
                settings.reserveCheckIntervalMilliseconds = int(value, path, range: 0...60_000) ?? settings.reserveCheckIntervalMilliseconds
            default: break
            }
        }
    }
}
