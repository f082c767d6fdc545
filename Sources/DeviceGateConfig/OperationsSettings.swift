#if canImport(Glibc)
import Glibc
#endif
import Yams

/// Where the audit log goes: a JSON-lines file, standard error (the journal under systemd), or nowhere.
public enum AuditDestination: Sendable, Equatable, CustomStringConvertible {
    case file(path: String)
    case standardError
    case off

    public var description: String {
        switch self {
        case .file(let path): return path
        case .standardError: return "-"
        case .off: return "off"
        }
    }
}

/// The operator's view: audit log, Prometheus metrics, log format.
public struct OperationsSettings: Sendable, Equatable {
    /// `audit.file`; nil means the default, `<state_dir>/audit.jsonl`.
    public var audit: AuditDestination?
    /// `metrics.enabled`.
    public var metricsEnabled = true
    /// `metrics.path`: served by the workers, exposed by the nginx example to loopback only.
    public var metricsPath = "/_devicegate/metrics"
    /// `metrics.allow`: client addresses (REMOTE_ADDR) the workers answer metrics for, as
    /// addresses or CIDR blocks. A second fence behind nginx's `allow`/`deny`.
    public var metricsAllow: [String] = ["127.0.0.1/8", "::1"]
    public init() {}
}

/// An IPv4 or IPv6 address block, `10.0.0.0/8`, `::1` or `fd00::/8`.
public struct AddressBlock: Sendable, Equatable {
    public var bytes: [UInt8]
    public var prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = AddressBlock.parseAddress(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        bytes = address
    }

    /// 4 bytes for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address becomes its 4 bytes).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF { return Array(v6[12..<16]) }
        return v6
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[i] & mask != bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

extension Reader {
    mutating func readAudit(_ node: Node, into settings: inout OperationsSettings) {
        for (key, value) in mapping(node, "audit", allowed: ["file"]) {
            let path = "audit.\(key)"
            guard key == "file", let text = string(value, path) else { continue }
            switch text {
            case "-", "stderr": settings.audit = .standardError
            case "off", "false": settings.audit = .off
            case _ where text.hasPrefix("/"): settings.audit = .file(path: text)
            default: issue(value, path, "expected an absolute file path, - (standard error) or off")
            }
        }
    }

    mutating func readMetrics(_ node: Node, into settings: inout OperationsSettings) {
        for (key, value) in mapping(node, "metrics", allowed: ["enabled", "path", "allow"]) {
            let path = "metrics.\(key)"
            switch key {
            case "enabled":
                guard let text = string(value, path), let flag = Bool(text) else { issue(value, path, "expected true or false"); continue }
                settings.metricsEnabled = flag
            case "path":
                guard let text = string(value, path) else { continue }
                guard text.hasPrefix("/"), !text.contains("?"), !text.contains("#"), !text.contains(" ") else {
                    issue(value, path, "must be an absolute path such as /_devicegate/metrics"); continue
                }
                settings.metricsPath = text
            case "allow":
                guard let list = strings(value, path) else { continue }
                for (i, entry) in list.enumerated() where AddressBlock(entry) == nil {
                    issue(value, "\(path)[\(i)]", "'\(entry)' is not an IP address or CIDR block such as 127.0.0.1/8 or ::1")
                }
                settings.metricsAllow = list
            default: break
            }
        }
    }
}

/// Whether two addresses are on the same network as far as a person can be told: the same IPv4
/// /24, or the same IPv6 /64 (one subnet, RFC 4291 §2.5.4). An IPv4-mapped IPv6 address counts
/// as IPv4 (`AddressBlock.parseAddress`). Anything unparsable is `.unknown`, never "same".
public enum NetworkProximity: Sendable, Equatable {
    case sameNetwork
    case otherNetwork
    case unknown

    public static func between(_ a: String, _ b: String) -> NetworkProximity {
        guard let x = AddressBlock.parseAddress(a), let y = AddressBlock.parseAddress(b) else { return .unknown }
        guard x.count == y.count else { return .otherNetwork }
        let prefix = x.count == 4 ? 3 : 8
        return x[0..<prefix] == y[0..<prefix] ? .sameNetwork : .otherNetwork
    }
}
