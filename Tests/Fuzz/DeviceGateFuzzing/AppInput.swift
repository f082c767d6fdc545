/// One request's FastCGI parameters and body, in a byte layout a fuzzer can mutate:
/// NUL-separated fields, the body last (it may hold NULs itself).
///
///     CONTROL \0 REQUEST_METHOD \0 DOCUMENT_URI \0 QUERY_STRING \0 CONTENT_TYPE \0
///     HTTP_AUTHORIZATION \0 HTTP_COOKIE \0 REMOTE_ADDR \0 REMOTE_USER \0 REQUEST_ID \0 body
///
/// FastCGI parameters reach the worker as C strings, so they never hold a NUL: the separator
/// costs the fuzzer nothing it could reach through nginx. CONTROL is decimal seconds to move
/// the clock forward between filling in the placeholders and asking the app (so flows, tokens
/// and sessions expire, and limit windows reset), with flags: `D` sends the request to
/// the app configured for delegated sign-in, `L` marks the body as over `max_body_bytes`.
///
/// Any field may hold placeholders that `AppHarness` fills in before the request is made, so
/// the fuzzer can get past the CSRF check and reach live flows and tokens:
/// `{code}` `{device_code}` (a fresh pending flow), `{access}` `{refresh}` `{id_token}`
/// (tokens of a fresh redeemed flow), `{basic}` (the confidential client's Authorization
/// header), `{anon}` `{csrf}` (an anonymous CSRF cookie and its form token), `{session}`
/// `{session_csrf}` (a signed-in session of bob and its form token), `{flow}` (the consent
/// form's flow binding of `{code}` for that session), `{password}` (bob's).
public struct AppInput: Sendable, Equatable {
    public var advanceSeconds: Int64 = 0
    public var delegated = false
    public var bodyExceededLimit = false
    public var method: [UInt8] = []
    public var path: [UInt8] = []
    public var query: [UInt8] = []
    public var contentType: [UInt8] = []
    public var authorization: [UInt8] = []
    public var cookie: [UInt8] = []
    public var remoteAddress: [UInt8] = []
    public var remoteUser: [UInt8] = []
    public var requestID: [UInt8] = []
    public var body: [UInt8] = []

    public init() {}

    public init(_ data: [UInt8]) {
        let f = fields(data, separator: 0, count: 11)
        var digits: Int64 = 0
        for b in f[0] {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits = min(digits * 10 + Int64(b - UInt8(ascii: "0")), 10_000_000)
            case UInt8(ascii: "D"): delegated = true
            case UInt8(ascii: "L"): bodyExceededLimit = true
            default: break
            }
        }
        advanceSeconds = digits
        method = Array(f[1]); path = Array(f[2]); query = Array(f[3]); contentType = Array(f[4])
        authorization = Array(f[5]); cookie = Array(f[6]); remoteAddress = Array(f[7]); remoteUser = Array(f[8])
        requestID = Array(f[9]); body = Array(f[10])
    }

    /// The byte layout above (parameters lose any NUL, as they would on the way in).
    public var bytes: [UInt8] {
        var control = Array(String(advanceSeconds).utf8)
        if delegated { control.append(UInt8(ascii: "D")) }
        if bodyExceededLimit { control.append(UInt8(ascii: "L")) }
        var out = control
        for field in [method, path, query, contentType, authorization, cookie, remoteAddress, remoteUser, requestID] {
            out += field.filter { $0 != 0 }
            out.append(0)
        }
        return out + body
    }
}
