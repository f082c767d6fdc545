/// The hostile-input properties, one per fuzz target. Each takes the raw bytes a fuzzer (or a
/// seeded generator in FuzzTests) made up and throws `PropertyViolation` when the code under
/// test answers wrongly; a trap in the code under test is a failure by itself.
///
/// The same checks run under libFuzzer (`deploy/fuzz.sh`, the `DeviceGateFuzz` executable) and
/// in `swift test` (FuzzTests: the checked-in corpus plus seeded random inputs).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `FastCGIWorker.request`: FastCGI parameters and the body stream, CONTENT_LENGTH above all.
    case fastcgi
    /// `FormDecoding.decode`, `component`, `isFormContentType` and the `FormFields` accessors.
    case form
    /// `UserCodeFormat.normalize`, `display` and `generate` (RFC 8628 §6.1).
    case userCode = "user-code"
    /// `ClientCredentialsExtraction`: HTTP Basic decoding and the choice of method (RFC 6749 §2.3.1).
    case basicAuth = "basic-auth"
    /// `ScopeSet.parse` (RFC 6749 §3.3).
    case scope
    /// `WebCookies.value` and `isToken`: the Cookie header of the verification page.
    case cookie
    /// `RecordCoding`: every state-file decoder of the FlowStore.
    case record
    /// `AccessTokenValidator` and `JWT.verify` on tokens the app never signed.
    case bearerToken = "bearer-token"
    /// `AuthorizationRequestValidation` and `AuthorizationResponse`: never a redirect to an
    /// unregistered URI, and the redirect's query reads back.
    case authorize
    /// The whole `DeviceGateApp` with OIDC endpoints and the verification page, fed one
    /// request made of FastCGI parameters and a body, through `FastCGIWorker.request` (see
    /// `AppHarness`).
    case app

    /// Sets up what every input of the target shares (the app harness: a state directory and
    /// every page rendered once to learn its shape), before the fuzzer's clock runs: its
    /// per-input timeout is for the code under test, not for a one-time start that takes
    /// seconds in a sanitizer build.
    public func prepare() throws(PropertyViolation) {
        switch self {
        case .bearerToken, .app: _ = try AppHarness.shared()
        default: break
        }
    }

    /// Runs one input through the target's properties.
    public func run(_ data: [UInt8]) throws(PropertyViolation) {
        switch self {
        case .fastcgi: try FastCGIProperties.check(data)
        case .form: try FormProperties.check(data)
        case .userCode: try UserCodeProperties.check(data)
        case .basicAuth: try BasicAuthProperties.check(data)
        case .scope: try ScopeProperties.check(data)
        case .cookie: try CookieProperties.check(data)
        case .record: try RecordProperties.check(data)
        case .bearerToken: try BearerTokenProperties.check(data)
        case .authorize: try AuthorizationRequestProperties.check(data)
        case .app: try AppHarness.shared().check(data)
        }
    }
}

/// A property that did not hold, with what was expected and what happened.
public struct PropertyViolation: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Throws a violation unless `condition` holds.
@inline(__always)
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(PropertyViolation) {
    if !condition { throw PropertyViolation(message()) }
}

/// Printable form of fuzz bytes for messages: printable ASCII as is, everything else escaped,
/// cut to 300 bytes.
func quoted(_ bytes: some Sequence<UInt8>) -> String {
    var out = "\""
    var n = 0
    for b in bytes {
        n += 1
        if n > 300 { out += "…"; break }
        switch b {
        case UInt8(ascii: "\""): out += "\\\""
        case UInt8(ascii: "\\"): out += "\\\\"
        case 0x20..<0x7F: out.append(Character(Unicode.Scalar(b)))
        default: out += "\\x" + String(b, radix: 16, uppercase: true).leftPadded(2)
        }
    }
    return out + "\""
}

func quoted(_ text: String) -> String { quoted(text.utf8) }

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Splits `data` at `separator` into at most `count` parts; the last part keeps the rest
/// (separators included). Missing parts are empty.
func fields(_ data: [UInt8], separator: UInt8, count: Int) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    var start = data.startIndex
    while out.count < count - 1, let i = data[start...].firstIndex(of: separator) {
        out.append(data[start..<i])
        start = i + 1
    }
    out.append(data[start...])
    while out.count < count { out.append([]) }
    return out
}

/// A 64-bit seed from the input, for properties that draw values (FNV-1a).
func seed(_ data: some Sequence<UInt8>) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in data { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}
