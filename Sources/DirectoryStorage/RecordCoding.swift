import DeviceFlow
import HostFiles

/// The on-disk text form of records: one `key value` pair a line, values percent-encoded,
/// closed by an `end` line so a truncated file can never parse. Small, greppable, and cheap
/// to parse on the poll path (no JSON decoder). Package-visible for the fuzz harness (Tests/Fuzz).
package enum RecordCoding {
    static let flowMagic = "devicegate-flow 1"
    static let tokenMagic = "devicegate-token 1"

    // MARK: Flow records

    package static func encode(_ r: DeviceFlowRecord) -> [UInt8] {
        var fields: [(String, String)] = [
            ("id", r.id), ("user_code_key", r.userCodeKey), ("client_id", r.clientID),
            ("scope", r.scope.description), ("created_ms", "\(r.createdAt.milliseconds)"),
            ("expires_ms", "\(r.expiresAt.milliseconds)"), ("interval", "\(r.interval)"),
            ("status", r.status.name),
        ]
        func approval(_ a: DeviceFlowRecord.Approval) {
            fields.append(("subject", a.subject))
            fields.append(("auth_time_ms", "\(a.authTime.milliseconds)"))
            fields.append(("approved_ms", "\(a.approvedAt.milliseconds)"))
        }
        switch r.status {
        case .pending: break
        case .approved(let a): approval(a)
        case .denied(let at): fields.append(("denied_ms", "\(at.milliseconds)"))
        case .redeemed(let a, let at): approval(a); fields.append(("redeemed_ms", "\(at.milliseconds)"))
        }
        if let issued = r.issued {
            fields.append(("issued_access", "\(issued.accessToken.id):\(issued.accessToken.expiresAt.milliseconds)"))
            if let family = issued.refreshFamilyID { fields.append(("issued_family", family)) }
        }
        appendRequester(r.requester, to: &fields)
        return render(flowMagic, fields)
    }

    package static func decodeFlow(_ bytes: [UInt8], path: String) throws -> DeviceFlowRecord {
        let f = try parse(bytes, magic: flowMagic, path: path)
        func approval() throws -> DeviceFlowRecord.Approval {
            .init(subject: try f.string("subject"), authTime: try f.time("auth_time_ms"), approvedAt: try f.time("approved_ms"))
        }
        let status: DeviceFlowRecord.Status
        switch try f.string("status") {
        case "pending": status = .pending
        case "approved": status = .approved(try approval())
        case "denied": status = .denied(at: try f.time("denied_ms"))
        case "redeemed": status = .redeemed(try approval(), at: try f.time("redeemed_ms"))
        case let other: throw FlowStorageError(.corrupt, "\(path): unknown status \(other)")
        }
        guard let scope = ScopeSet.parse(try f.string("scope")) else {
            throw FlowStorageError(.corrupt, "\(path): bad scope")
        }
        // Optional: records redeemed before these were kept have neither.
        var issued: DeviceFlowRecord.IssuedGrant?
        if let access = f.values["issued_access"] {
            let parts = access.split(separator: ":")
            guard parts.count == 2, let ms = Int64(parts[1]) else { throw FlowStorageError(.corrupt, "\(path): bad issued_access") }
            issued = .init(accessToken: .init(id: String(parts[0]), expiresAt: UnixTime(milliseconds: ms)), refreshFamilyID: f.values["issued_family"])
        }
        return DeviceFlowRecord(
            id: try f.string("id"), userCodeKey: try f.string("user_code_key"), clientID: try f.string("client_id"),
            scope: scope, createdAt: try f.time("created_ms"), expiresAt: try f.time("expires_ms"),
            interval: Int(try f.int("interval")), status: status, issued: issued, requester: try f.requester())
    }

    // MARK: Access tokens

    package static func encode(_ t: AccessTokenRecord) -> [UInt8] {
        render(tokenMagic, [
            ("token_hash", t.tokenHash), ("client_id", t.clientID), ("subject", t.subject),
            ("scope", t.scope.description), ("issued_ms", "\(t.issuedAt.milliseconds)"),
            ("expires_ms", "\(t.expiresAt.milliseconds)"), ("flow_id", t.flowID),
        ] + (t.audience.map { [("audience", $0)] } ?? []))
    }

    package static func decodeToken(_ bytes: [UInt8], path: String) throws -> AccessTokenRecord {
        let f = try parse(bytes, magic: tokenMagic, path: path)
        guard let scope = ScopeSet.parse(try f.string("scope")) else {
            throw FlowStorageError(.corrupt, "\(path): bad scope")
        }
        return AccessTokenRecord(
            tokenHash: try f.string("token_hash"), clientID: try f.string("client_id"), subject: try f.string("subject"),
            scope: scope, issuedAt: try f.time("issued_ms"), expiresAt: try f.time("expires_ms"), flowID: try f.string("flow_id"),
            audience: f.values["audience"])
    }

    // MARK: Refresh-token families

    static let familyMagic = "devicegate-family 1"

    /// The optional fields (`requester_*`, `last_used_*`) only when present: families written
    /// before they were kept read back with them nil.
    package static func encode(_ f: RefreshFamily) -> [UInt8] {
        var fields: [(String, String)] = [
            ("id", f.id), ("client_id", f.clientID), ("subject", f.subject), ("scope", f.scope.description),
            ("auth_time_ms", "\(f.authTime.milliseconds)"), ("created_ms", "\(f.createdAt.milliseconds)"),
            ("expires_ms", "\(f.expiresAt.milliseconds)"), ("current", f.currentTokenHash),
            ("revoked_ms", "\(f.revokedAt?.milliseconds ?? 0)"),
            ("access_tokens", f.accessTokens.map { "\($0.id):\($0.expiresAt.milliseconds)" }.joined(separator: ",")),
        ]
        appendRequester(f.requester, to: &fields)
        if let used = f.lastUsedAt { fields.append(("last_used_ms", "\(used.milliseconds)")) }
        if let from = f.lastUsedFrom { fields.append(("last_used_from", from)) }
        return render(familyMagic, fields)
    }

    package static func decodeFamily(_ bytes: [UInt8], path: String) throws -> RefreshFamily {
        let f = try parse(bytes, magic: familyMagic, path: path)
        guard let scope = ScopeSet.parse(try f.string("scope")) else { throw FlowStorageError(.corrupt, "\(path): bad scope") }
        var accessTokens: [RefreshFamily.IssuedAccessToken] = []
        for item in try f.string("access_tokens").split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let ms = Int64(parts[1]) else { throw FlowStorageError(.corrupt, "\(path): bad access_tokens") }
            accessTokens.append(.init(id: String(parts[0]), expiresAt: UnixTime(milliseconds: ms)))
        }
        let revoked = try f.int("revoked_ms")
        return RefreshFamily(
            id: try f.string("id"), clientID: try f.string("client_id"), subject: try f.string("subject"), scope: scope,
            authTime: try f.time("auth_time_ms"), createdAt: try f.time("created_ms"), expiresAt: try f.time("expires_ms"),
            currentTokenHash: try f.string("current"), revokedAt: revoked > 0 ? UnixTime(milliseconds: revoked) : nil,
            accessTokens: accessTokens, requester: try f.requester(),
            lastUsedAt: f.values["last_used_ms"] == nil ? nil : try f.time("last_used_ms"), lastUsedFrom: f.values["last_used_from"])
    }

    // MARK: Requesters (RFC 8628 §5.4), on flows and families

    /// `requester_address` (possibly empty) whenever there is a requester, `requester_agent`
    /// only when it has a product, so nil and an empty string stay distinct.
    private static func appendRequester(_ requester: DeviceRequester?, to fields: inout [(String, String)]) {
        guard let requester else { return }
        fields.append(("requester_address", requester.address))
        if let agent = requester.userAgent { fields.append(("requester_agent", agent)) }
    }

    // MARK: Authorization codes

    static let authorizationCodeMagic = "devicegate-code 1"

    /// Every field of the record; the optional ones (`code_challenge`, `nonce`, `redeemed_ms`,
    /// the issued grant) only when present, so nil and an empty string stay distinct. The
    /// issued access token's id and expiry are two fields (a `jti` may hold any character).
    package static func encode(_ c: AuthorizationCodeRecord) -> [UInt8] {
        var fields: [(String, String)] = [
            ("id", c.id), ("client_id", c.clientID), ("subject", c.subject), ("scope", c.scope.description),
            ("auth_time_ms", "\(c.authTime.milliseconds)"), ("created_ms", "\(c.createdAt.milliseconds)"),
            ("expires_ms", "\(c.expiresAt.milliseconds)"), ("redirect_uri", c.redirectURI),
        ]
        if let challenge = c.codeChallenge { fields.append(("code_challenge", challenge)) }
        if let nonce = c.nonce { fields.append(("nonce", nonce)) }
        if let redeemed = c.redeemedAt { fields.append(("redeemed_ms", "\(redeemed.milliseconds)")) }
        if let issued = c.issued {
            fields.append(("issued_access_id", issued.accessToken.id))
            fields.append(("issued_access_expires_ms", "\(issued.accessToken.expiresAt.milliseconds)"))
            if let family = issued.refreshFamilyID { fields.append(("issued_family", family)) }
        }
        return render(authorizationCodeMagic, fields)
    }

    /// The record of a `devicegate-code 1` file; `.corrupt` when it is truncated (no `end`
    /// line), garbled, or misses a field the record needs.
    package static func decodeAuthorizationCode(_ bytes: [UInt8], path: String) throws -> AuthorizationCodeRecord {
        let f = try parse(bytes, magic: authorizationCodeMagic, path: path)
        guard let scope = ScopeSet.parse(try f.string("scope")) else { throw FlowStorageError(.corrupt, "\(path): bad scope") }
        func optionalTime(_ key: String) throws -> UnixTime? { f.values[key] == nil ? nil : try f.time(key) }
        var issued: DeviceFlowRecord.IssuedGrant?
        if let access = f.values["issued_access_id"] {
            issued = .init(accessToken: .init(id: access, expiresAt: try f.time("issued_access_expires_ms")),
                           refreshFamilyID: f.values["issued_family"])
        } else if f.values["issued_access_expires_ms"] != nil || f.values["issued_family"] != nil {
            throw FlowStorageError(.corrupt, "\(path): issued grant without its access token")
        }
        return AuthorizationCodeRecord(
            id: try f.string("id"), clientID: try f.string("client_id"), subject: try f.string("subject"), scope: scope,
            authTime: try f.time("auth_time_ms"), createdAt: try f.time("created_ms"), expiresAt: try f.time("expires_ms"),
            redirectURI: try f.string("redirect_uri"), codeChallenge: f.values["code_challenge"], nonce: f.values["nonce"],
            redeemedAt: try optionalTime("redeemed_ms"), issued: issued)
    }

    // MARK: User-code index entries: "<flow id> <expires ms>\n"

    package static func encodeIndex(flowID: String, expiresAt: UnixTime) -> [UInt8] {
        Array("\(flowID) \(expiresAt.milliseconds)\n".utf8)
    }

    package static func decodeIndex(_ bytes: [UInt8]) -> (flowID: String, expiresAt: UnixTime)? {
        let parts = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, parts[0].utf8.count == 64, let ms = Int64(parts[1]) else { return nil }
        return (String(parts[0]), UnixTime(milliseconds: ms))
    }

    // MARK: Soft poll state: fixed 28 bytes, "<20-digit last poll ms> <6-digit interval>\n"

    static let pollStateSize = 28

    package static func encodePoll(_ p: PollState) -> [UInt8] {
        let last = p.lastPollAt?.milliseconds ?? 0
        return Array((pad(String(max(0, last)), 20) + " " + pad(String(min(max(0, p.interval), 999_999)), 6) + "\n").utf8)
    }

    /// Decodes the soft state; anything unreadable (a torn write after power loss, an empty new
    /// file) yields nil and the caller falls back to the record's interval.
    package static func decodePoll(_ bytes: [UInt8]) -> PollState? {
        guard bytes.count == pollStateSize, bytes[20] == UInt8(ascii: " "), bytes[27] == UInt8(ascii: "\n") else { return nil }
        guard let last = Int64(String(decoding: bytes[0..<20], as: UTF8.self)),
              let interval = Int(String(decoding: bytes[21..<27], as: UTF8.self)) else { return nil }
        return PollState(lastPollAt: last > 0 ? UnixTime(milliseconds: last) : nil, interval: interval)
    }

    // MARK: Web sessions

    static let sessionMagic = "devicegate-session 1"

    package static func encode(_ s: WebSession) -> [UInt8] {
        render(sessionMagic, [
            ("subject", s.subject), ("auth_time_ms", "\(s.authTime.milliseconds)"),
            ("expires_ms", "\(s.expiresAt.milliseconds)"),
        ])
    }

    package static func decodeSession(_ bytes: [UInt8], path: String) throws -> WebSession {
        let f = try parse(bytes, magic: sessionMagic, path: path)
        return WebSession(subject: try f.string("subject"), authTime: try f.time("auth_time_ms"), expiresAt: try f.time("expires_ms"))
    }

    // MARK: Attempt counters: fixed 28 bytes, "<20-digit window end ms> <6-digit count>\n"

    static let counterSize = 28

    package static func encodeCounter(_ c: WindowCount) -> [UInt8] {
        Array((pad(String(max(0, c.windowEnd.milliseconds)), 20) + " " + pad(String(min(max(0, c.count), 999_999)), 6) + "\n").utf8)
    }

    /// A torn or empty counter reads as nil: the window starts again from zero.
    package static func decodeCounter(_ bytes: [UInt8]) -> WindowCount? {
        guard bytes.count == counterSize, bytes[20] == UInt8(ascii: " "), bytes[27] == UInt8(ascii: "\n") else { return nil }
        guard let end = Int64(String(decoding: bytes[0..<20], as: UTF8.self)),
              let count = Int(String(decoding: bytes[21..<27], as: UTF8.self)) else { return nil }
        return WindowCount(count: count, windowEnd: UnixTime(milliseconds: end))
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - s.count)) + s
    }

    // MARK: Line format

    private static func render(_ magic: String, _ fields: [(String, String)]) -> [UInt8] {
        var out = Array(magic.utf8)
        out.append(0x0A)
        for (key, value) in fields {
            out.append(contentsOf: key.utf8)
            out.append(0x20)
            percentEncode(value, into: &out)
            out.append(0x0A)
        }
        out.append(contentsOf: "end\n".utf8)
        return out
    }

    struct Fields {
        var values: [String: String]
        var path: String
        func string(_ key: String) throws -> String {
            guard let v = values[key] else { throw FlowStorageError(.corrupt, "\(path): missing \(key)") }
            return v
        }
        func int(_ key: String) throws -> Int64 {
            guard let v = Int64(try string(key)) else { throw FlowStorageError(.corrupt, "\(path): bad \(key)") }
            return v
        }
        func time(_ key: String) throws -> UnixTime { UnixTime(milliseconds: try int(key)) }
        /// The requester of `appendRequester`; nil in records written before it was kept. An
        /// agent without an address is `.corrupt` (no version wrote one).
        func requester() throws -> DeviceRequester? {
            guard let address = values["requester_address"] else {
                if values["requester_agent"] != nil { throw FlowStorageError(.corrupt, "\(path): requester_agent without requester_address") }
                return nil
            }
            return DeviceRequester(stored: address, userAgent: values["requester_agent"])
        }
    }

    private static func parse(_ bytes: [UInt8], magic: String, path: String) throws -> Fields {
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count >= 3, String(decoding: lines[0], as: UTF8.self) == magic else {
            throw FlowStorageError(.corrupt, "\(path): not a \(magic) file")
        }
        var values: [String: String] = [:]
        var ended = false
        for line in lines.dropFirst() {
            if line.elementsEqual("end".utf8) { ended = true; break }
            guard let space = line.firstIndex(of: 0x20) else { throw FlowStorageError(.corrupt, "\(path): bad line") }
            let key = String(decoding: line[line.startIndex..<space], as: UTF8.self)
            guard let value = percentDecode(line[(space + 1)...]) else { throw FlowStorageError(.corrupt, "\(path): bad value for \(key)") }
            values[key] = value
        }
        guard ended else { throw FlowStorageError(.corrupt, "\(path): truncated (no end line)") }
        return Fields(values: values, path: path)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func percentEncode(_ value: String, into out: inout [UInt8]) {
        for b in value.utf8 {
            if b > 0x20 && b < 0x7F && b != UInt8(ascii: "%") {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
    }

    private static func percentDecode(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let v = Encoding.bytes(fromHex: String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self)) else { return nil }
                out.append(v[0])
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
