import DeviceFlow
import DeviceGateTesting
import DirectoryStorage

/// `RecordCoding`: the state files. Whatever a file holds (a torn write, a disk error, an
/// operator's editor) the decoders answer with a record or a `corrupt` error, never a trap;
/// what they accept survives another write and read; and what we write reads back exactly,
/// while a truncated copy of it never reads as something else.
public enum RecordProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        try arbitraryFiles(data)
        try writtenRecords(data)
    }

    /// Any bytes, read as every kind of state file.
    static func arbitraryFiles(_ data: [UInt8]) throws(PropertyViolation) {
        // As they are, and behind each kind's first line so the field parser sees them too.
        for prefix in [[], Array("devicegate-flow 1\n".utf8)] { try stable(prefix + data, RecordCoding.decodeFlow, RecordCoding.encode) }
        for prefix in [[], Array("devicegate-token 1\n".utf8)] { try stable(prefix + data, RecordCoding.decodeToken, RecordCoding.encode) }
        for prefix in [[], Array("devicegate-family 1\n".utf8)] { try stable(prefix + data, RecordCoding.decodeFamily, RecordCoding.encode) }
        for prefix in [[], Array("devicegate-session 1\n".utf8)] { try stable(prefix + data, RecordCoding.decodeSession, RecordCoding.encode) }
        for prefix in [[], Array("devicegate-code 1\n".utf8)] { try stable(prefix + data, RecordCoding.decodeAuthorizationCode, RecordCoding.encode) }
        if let entry = RecordCoding.decodeIndex(data) {
            let again = RecordCoding.decodeIndex(RecordCoding.encodeIndex(flowID: entry.flowID, expiresAt: entry.expiresAt))
            try require(again?.flowID == entry.flowID && again?.expiresAt == entry.expiresAt, "index entry \(quoted(data)) does not survive a rewrite")
        }
        // The fixed-size soft state: anything accepted within the range we write survives a rewrite.
        for file in [data, Array(data.prefix(28))] {
            if let poll = RecordCoding.decodePoll(file), (0...999_999).contains(poll.interval) {
                try require(RecordCoding.decodePoll(RecordCoding.encodePoll(poll)) == poll, "poll state \(quoted(file)) does not survive a rewrite")
            }
            if let counter = RecordCoding.decodeCounter(file), (0...999_999).contains(counter.count), counter.windowEnd.milliseconds >= 0 {
                try require(RecordCoding.decodeCounter(RecordCoding.encodeCounter(counter)) == counter, "counter \(quoted(file)) does not survive a rewrite")
            }
        }
    }

    /// Decoding either fails with `corrupt` or gives a record that reads back the same after
    /// being written.
    static func stable<R: Equatable>(_ file: [UInt8], _ decode: ([UInt8], String) throws -> R, _ encode: (R) -> [UInt8]) throws(PropertyViolation) {
        let record: R
        do { record = try decode(file, "fuzz") } catch {
            try require((error as? FlowStorageError)?.kind == .corrupt, "decoding \(quoted(file)) threw \(error), not a corrupt-file error")
            return
        }
        let written = encode(record)
        do {
            let again = try decode(written, "fuzz")
            try require(again == record, "\(quoted(file)) decoded to \(record); written and read again: \(again)")
        } catch let violation as PropertyViolation {
            throw violation
        } catch {
            throw PropertyViolation("\(quoted(file)) decoded to \(record); written as \(quoted(written)) it no longer reads: \(error)")
        }
    }

    /// A record made from the input's strings and numbers (one kind per input, chosen by it):
    /// it reads back exactly, and no truncated copy reads as a different record.
    static func writtenRecords(_ data: [UInt8]) throws(PropertyViolation) {
        let text = fields(data, separator: 0, count: 5).map { String(decoding: $0, as: UTF8.self) }
        let random = SeededRandom(seed: seed(data))
        func time() -> UnixTime { UnixTime(milliseconds: Int64(bitPattern: UInt64(random.uniform(Int.max)) &* 3)) }
        func positive() -> UnixTime { UnixTime(milliseconds: 1 + Int64(random.uniform(Int(Int64.max - 1)))) }
        func hex() -> String { Encoding.hex(random.bytes(32)) }
        let scope = ScopeSet.parse(text[3]) ?? ScopeSet(["openid"])
        let approval = DeviceFlowRecord.Approval(subject: text[4], authTime: time(), approvedAt: time())
        // As a store reads it back (`init(stored:)`): any strings, an agent or none, or no requester.
        func requester() -> DeviceRequester? {
            random.uniform(3) == 0 ? nil : DeviceRequester(stored: text[1], userAgent: random.uniform(2) == 0 ? nil : text[2])
        }
        switch random.uniform(8) {
        case 0...3:
            let status = [DeviceFlowRecord.Status.pending, .approved(approval), .denied(at: time()), .redeemed(approval, at: time())][random.uniform(4)]
            let flow = DeviceFlowRecord(id: text[0], userCodeKey: text[1], clientID: text[2], scope: scope, createdAt: time(),
                                        expiresAt: time(), interval: random.uniform(Int.max) - Int.max / 2, status: status,
                                        requester: requester())
            try exact(flow, RecordCoding.encode, RecordCoding.decodeFlow)
        case 4:
            try exact(AccessTokenRecord(tokenHash: hex(), clientID: text[2], subject: text[4], scope: scope, issuedAt: time(),
                                        expiresAt: time(), flowID: text[0]), RecordCoding.encode, RecordCoding.decodeToken)
        case 5:
            // Access-token ids are hex jtis; a revocation time is a real (positive) instant.
            let issued = (0..<random.uniform(4)).map { _ in RefreshFamily.IssuedAccessToken(id: hex(), expiresAt: time()) }
            try exact(RefreshFamily(id: hex(), clientID: text[2], subject: text[4], scope: scope, authTime: time(), createdAt: time(),
                                    expiresAt: time(), currentTokenHash: text[1], revokedAt: random.uniform(2) == 0 ? nil : positive(),
                                    accessTokens: issued, requester: requester(),
                                    lastUsedAt: random.uniform(2) == 0 ? nil : time(), lastUsedFrom: random.uniform(2) == 0 ? nil : text[0]),
                      RecordCoding.encode, RecordCoding.decodeFamily)
        case 6:
            try exact(WebSession(subject: text[4], authTime: time(), expiresAt: time()), RecordCoding.encode, RecordCoding.decodeSession)
        default:
            let flowID = hex(), expires = time()
            let entry = RecordCoding.decodeIndex(RecordCoding.encodeIndex(flowID: flowID, expiresAt: expires))
            try require(entry?.flowID == flowID && entry?.expiresAt == expires, "index entry \(flowID) \(expires) does not read back")
            let poll = PollState(lastPollAt: random.uniform(2) == 0 ? nil : positive(), interval: random.uniform(1_000_000))
            try require(RecordCoding.decodePoll(RecordCoding.encodePoll(poll)) == poll, "poll state \(poll) does not read back")
            let counter = WindowCount(count: random.uniform(1_000_000), windowEnd: UnixTime(milliseconds: Int64(random.uniform(Int(Int64.max)))))
            try require(RecordCoding.decodeCounter(RecordCoding.encodeCounter(counter)) == counter, "counter \(counter) does not read back")
        }
    }

    static func exact<R: Equatable>(_ record: R, _ encode: (R) -> [UInt8], _ decode: ([UInt8], String) throws -> R) throws(PropertyViolation) {
        let file = encode(record)
        do {
            let again = try decode(file, "fuzz")
            try require(again == record, "\(record) was written as \(quoted(file)) and read back as \(again)")
        } catch let violation as PropertyViolation {
            throw violation
        } catch {
            throw PropertyViolation("\(record) was written as \(quoted(file)) and does not read back: \(error)")
        }
        // A file cut short (a crash before the rename cannot leave one, but a full disk or a
        // copy can) is refused, or, cut after "end", still the same record.
        // Every cut next to a line break, and a few inside lines.
        for cut in 0..<file.count where file[cut] == 0x0A || (cut > 0 && file[cut - 1] == 0x0A) || cut % 64 == 5 {
            guard let truncated = try? decode(Array(file[..<cut]), "fuzz") else { continue }
            try require(truncated == record, "\(record) cut to \(cut) bytes reads as \(truncated)")
        }
    }
}
