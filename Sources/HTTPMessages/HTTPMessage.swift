/// A request as the transport hands it over: FastCGI params and body, already read.
/// Nothing here knows about sockets, so every endpoint is testable with plain values.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The decoded, normalised path (nginx `$document_uri`), without the query.
    public var path: String
    public var query: String
    public var contentType: String?
    public var authorization: String?
    public var cookie: String?
    /// The `Accept-Language` header (RFC 9110 §12.5.4), for the pages' language.
    public var acceptLanguage: String?
    /// The `User-Agent` header (RFC 9110 §10.1.5): what the consent page shows of the device
    /// that asked, shortened (`DeviceRequester`). Hostile text like everything else here.
    public var userAgent: String?
    public var remoteAddress: String
    /// The user the web server authenticated (`fastcgi_param DEVICEGATE_REMOTE_USER`, set only
    /// by the shipped delegated snippets; never REMOTE_USER, which stock fastcgi_params fills from
    /// any Basic header); trusted only when `web.sign_in` is `delegated`.
    public var remoteUser: String?
    /// nginx `$request_id`, for log correlation; empty when not passed.
    public var requestID: String
    public var body: [UInt8]
    /// True when the declared body was larger than the configured limit; `body` is then empty.
    public var bodyExceededLimit: Bool

    public init(method: String, path: String, query: String = "", contentType: String? = nil, authorization: String? = nil,
                cookie: String? = nil, acceptLanguage: String? = nil, userAgent: String? = nil,
                remoteAddress: String = "127.0.0.1", remoteUser: String? = nil, requestID: String = "", body: [UInt8] = [],
                bodyExceededLimit: Bool = false) {
        self.method = method
        self.path = path
        self.query = query
        self.contentType = contentType
        self.authorization = authorization
        self.cookie = cookie
        self.acceptLanguage = acceptLanguage
        self.userAgent = userAgent
        self.remoteAddress = remoteAddress
        self.remoteUser = remoteUser
        self.requestID = requestID
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.headers.elementsEqual(rhs.headers, by: { $0 == $1 })
    }

    /// RFC 9110 §15 reason phrases for the statuses we send.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 303: return "See Other"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 413: return "Content Too Large"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
