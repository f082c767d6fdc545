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

    public static func draw(client: ClientRegistration, scope: ScopeSet, policy: FlowPolicy, now: UnixTime,
                            random: some SecureRandom, userCodeKey: (String) -> String) -> NewFlow {
        let userCode = policy.userCode.generate(using: random)
        let key = userCodeKey(userCode)
        let device = deviceCode(random: random)
        let record = DeviceFlowRecord(
            id: device.id, userCodeKey: key, clientID: client.clientID,
            scope: scope, createdAt: now, expiresAt: now.adding(seconds: Int64(policy.deviceCodeLifetime)),
            interval: policy.pollInterval)
        return NewFlow(deviceCode: device.code, canonicalUserCode: userCode, record: record)
    }

    /// A device code (32 CSPRNG bytes, base64url: 43 characters, 256 bits against guessing,
    /// RFC 8628 §5.2) and its flow id, SHA-256 hex.
    static func deviceCode(random: some SecureRandom) -> (code: String, id: String) {
        let ascii = Array(Encoding.base64URL(random.bytes(32)).utf8)
        return (String(decoding: ascii, as: UTF8.self), Encoding.hex(SHA256.hash(data: ascii)))
    }

    public func response(policy: FlowPolicy) -> DeviceAuthorizationResponse {
        let display = policy.userCode.display(canonicalUserCode)
        return DeviceAuthorizationResponse(
            deviceCode: deviceCode, userCode: display, verificationURI: policy.verificationURI,
            verificationURIComplete: policy.verificationURIComplete(displayUserCode: display),
            expiresIn: policy.deviceCodeLifetime, interval: policy.pollInterval)
    }
}
