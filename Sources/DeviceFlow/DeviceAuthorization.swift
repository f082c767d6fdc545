import Crypto

/// The device authorization response: RFC 8628 §3.2.
public struct DeviceAuthorizationResponse: Sendable, Equatable {
    public var deviceCode: String
    public var userCode: String
    public var verificationURI: String
    public var verificationURIComplete: String
    public var expiresIn: Int
    public var interval: Int
}

/// Lifetimes and formats that shape new flows.
public struct FlowPolicy: Sendable, Equatable {
    /// RFC 8628 §3.2 `expires_in`, seconds.
    public var deviceCodeLifetime: Int
    /// RFC 8628 §3.2 `interval`, seconds.
    public var pollInterval: Int
    public var userCode: UserCodeFormat
    /// The verification URI shown to the person, RFC 8628 §3.2 `verification_uri`.
    public var verificationURI: String

    public init(deviceCodeLifetime: Int = 600, pollInterval: Int = 5, userCode: UserCodeFormat = .init(), verificationURI: String) {
        self.deviceCodeLifetime = deviceCodeLifetime
        self.pollInterval = pollInterval
        self.userCode = userCode
        self.verificationURI = verificationURI
    }

    /// `verification_uri_complete`, RFC 8628 §3.3.1: the URI with the user code prefilled.
    public func verificationURIComplete(displayUserCode: String) -> String {
        let separator = verificationURI.contains("?") ? "&" : "?"
        return verificationURI + separator + "code=" + displayUserCode
    }
}

/// Draws the codes of a new flow. RFC 8628 §5.2 wants device codes of high entropy; ours are
/// 256 bits from the CSPRNG, base64url (240 of them when the id's first byte is chosen, below).
public struct NewFlow: Sendable {
    public var deviceCode: String
    public var canonicalUserCode: String
    public var record: DeviceFlowRecord

    /// With `idSharesUserCodeKeyShard` (what `FlowStorage.colocatesFlowsWithUserCodes` asks
    /// for), the flow id begins with the same byte as the user-code key: see `deviceCode(random:idFirstByte:)`.
    public static func draw(client: ClientRegistration, scope: ScopeSet, policy: FlowPolicy, now: UnixTime,
                            random: some SecureRandom, userCodeKey: (String) -> String,
                            idSharesUserCodeKeyShard: Bool = false) -> NewFlow {
        let userCode = policy.userCode.generate(using: random)
        let key = userCodeKey(userCode)
        let target = idSharesUserCodeKeyShard ? Encoding.bytes(fromHex: String(key.prefix(2)))?.first : nil
        let device = deviceCode(random: random, idFirstByte: target)
        let record = DeviceFlowRecord(
            id: device.id, userCodeKey: key, clientID: client.clientID,
            scope: scope, createdAt: now, expiresAt: now.adding(seconds: Int64(policy.deviceCodeLifetime)),
            interval: policy.pollInterval)
        return NewFlow(deviceCode: device.code, canonicalUserCode: userCode, record: record)
    }

    /// A device code (32 CSPRNG bytes, base64url: 43 characters) and its flow id, SHA-256 hex.
    ///
    /// With `idFirstByte`, the last two of the 32 bytes are then chosen, trying all 65,536
    /// values in an order the random bytes set, so that the id begins with that byte: 256
    /// SHA-256 computations of 43 bytes on average (tens of microseconds), and 240 bits stay
    /// random, far beyond what RFC 8628 §5.2 needs against guessing. The target byte comes from
    /// the user-code key, an HMAC under a secret pepper, so it tells nobody anything. Should
    /// no value match (probability (255/256)^65536 ≈ 10^-112) the last one is used anyway:
    /// the store only needs the match to save a directory fsync, not to be correct.
    static func deviceCode(random: some SecureRandom, idFirstByte: UInt8?) -> (code: String, id: String) {
        let raw = random.bytes(32)
        var ascii = Array(Encoding.base64URL(raw).utf8)
        guard let target = idFirstByte else {
            return (String(decoding: ascii, as: UTF8.self), Encoding.hex(SHA256.hash(data: ascii)))
        }
        // Bytes 30 and 31 are exactly the last three characters (40...42) of the encoding.
        let alphabet = Encoding.base64URLAlphabet
        var digest = SHA256.hash(data: ascii)
        var k = 0
        while digest.withUnsafeBytes({ $0[0] }) != target && k < 65_535 {
            k += 1
            let n = UInt32(raw[30] ^ UInt8(truncatingIfNeeded: k >> 8)) << 16 | UInt32(raw[31] ^ UInt8(truncatingIfNeeded: k)) << 8
            ascii[40] = alphabet[Int(n >> 18 & 63)]
            ascii[41] = alphabet[Int(n >> 12 & 63)]
            ascii[42] = alphabet[Int(n >> 6 & 63)]
            digest = SHA256.hash(data: ascii)
        }
        return (String(decoding: ascii, as: UTF8.self), Encoding.hex(digest))
    }

    public func response(policy: FlowPolicy) -> DeviceAuthorizationResponse {
        let display = policy.userCode.display(canonicalUserCode)
        return DeviceAuthorizationResponse(
            deviceCode: deviceCode, userCode: display, verificationURI: policy.verificationURI,
            verificationURIComplete: policy.verificationURIComplete(displayUserCode: display),
            expiresIn: policy.deviceCodeLifetime, interval: policy.pollInterval)
    }
}
