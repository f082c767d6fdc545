#if canImport(Glibc)
import Glibc
#endif
import CFastCGI
import CSupport
import HTTPMessages
import Logging

/// One FastCGI worker: accepts connections on fd 0 (`FCGI_LISTENSOCK_FILENO`, the convention
/// spawn-fcgi, fcgiwrap and systemd socket activation share), turns each request into an
/// `HTTPRequest`, and writes the `HTTPResponse` back. Knows nothing about OAuth.
///
/// SIGTERM stops it gracefully: the stop signals are blocked except while the worker waits
/// for a connection (ppoll), so a request in flight always finishes; an idle worker exits at once.
///
/// The socket is a trust boundary (whoever speaks FastCGI chooses REMOTE_ADDR and the delegated
/// user): the worker accepts connections itself, refuses TCP peers that
/// `server.allow_remote_fastcgi` does not allow before reading a byte, and gives each connection
/// `server.request_read_timeout` per read, so a silent or stalled peer cannot pin the worker
/// (FastCGIWorker+Accept.swift). A request not read in full is never handed to the application.
public final class FastCGIWorker {
    public typealias Handler = (HTTPRequest) -> HTTPResponse

    private let handler: Handler
    private let maxBodyBytes: Int
    let logger: Logger
    let policy: ConnectionPolicy
    /// Refused peers are logged at most once a second, with how many went unlogged.
    var refusalLogSecond: Int = -1
    var refusalsUnlogged = 0

    public init(maxBodyBytes: Int, policy: ConnectionPolicy = ConnectionPolicy(), logger: Logger, handler: @escaping Handler) {
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        self.policy = policy
        self.logger = logger
    }

    /// True when fd 0 is a listening socket, as the FastCGI convention requires.
    public static func standardInputIsListeningSocket() -> Bool {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 else { return false }
        return value != 0
    }

    /// Whether the listening socket (fd 0) is a unix socket: see `requestFullyRead`.
    private lazy var closesWithoutLingering: Bool = {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(0, $0, &length) == 0 }
        }
        return ok && Int32(address.ss_family) == AF_UNIX
    }()

    /// True when the web server has sent the whole request: the input stream has reached its
    /// end (FastCGI's empty FCGI_STDIN record), read now if the body was read to its declared
    /// length without it. Extra bytes beyond the declared body leave it false.
    static func requestFullyRead(_ input: UnsafeMutablePointer<FCGX_Stream>) -> Bool {
        guard FCGX_GetError(input) == 0 else { return false }
        if FCGX_HasSeenEOF(input) == EOF { return true }
        return FCGX_GetChar(input) == EOF && FCGX_HasSeenEOF(input) == EOF && FCGX_GetError(input) == 0
    }

    /// Runs until SIGTERM/SIGINT. Returns the process exit status.
    public func run() -> Int32 {
        guard FCGX_Init() == 0 else {
            logger.critical("FCGX_Init failed")
            return 1
        }
        dg_install_stop_handlers()
        signal(SIGPIPE, SIG_IGN)
        // Non-blocking accept: when several workers wake for one connection, the losers get
        // EAGAIN back from accept(2) and return to waiting, where a stop signal reaches them.
        _ = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK)
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        // listen_sock -1: the worker accepts itself (FastCGIWorker+Accept.swift), never libfcgi.
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            logger.critical("FCGX_InitRequest failed")
            return 1
        }
        logger.info("worker ready", metadata: ["pid": "\(getpid())"])
        while true {
            let ready = dg_wait_readable_or_stop(0)
            if ready == 0 { break }
            if ready < 0 {
                logger.error("poll on the listening socket failed", metadata: ["errno": "\(errno)"])
                usleep(10_000)
                continue
            }
            guard let fd = acceptConnection() else { continue }
            guard beginRequest(request, on: fd) else {
                logger.debug("FastCGI connection dropped: no complete request within server.request_read_timeout, or malformed")
                continue
            }
            let httpRequest = readRequest(request)
            // Never one connection for several requests (FCGI_KEEP_CONN): it would pin this worker.
            request.pointee.keepConnection = 0
            guard FCGX_GetError(request.pointee.in) == 0 else {
                // The body stopped coming (read timeout or a closed connection): never act on
                // half a request; close without an answer (FCGX_Free, unlike FCGX_Finish_r,
                // writes no END_REQUEST).
                logger.info("FastCGI request body not read in full (server.request_read_timeout or connection closed); dropped")
                request.pointee.detached = 1
                FCGX_Free(request, 1)
                continue
            }
            let response = handler(httpRequest)
            writeResponse(response, to: request.pointee.out)
            // libfcgi's close shuts down the write side, then waits until nginx closes its
            // end, reading what is left: against a TCP RST that would discard the response. A
            // unix socket sends no RST, and once the request was read to its end nothing is
            // left unread: close at once, and take the next connection without that wait.
            request.pointee.detached = closesWithoutLingering && Self.requestFullyRead(request.pointee.in) ? 1 : 0
            FCGX_Finish_r(request)
        }
        FCGX_Finish_r(request)
        logger.info("worker stopping", metadata: ["pid": "\(getpid())"])
        return 0
    }

    private func param(_ name: String, _ request: UnsafeMutablePointer<FCGX_Request>) -> String? {
        guard let value = FCGX_GetParam(name, request.pointee.envp) else { return nil }
        return String(validatingCString: value) ?? String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)), as: UTF8.self)
    }

    private func readRequest(_ request: UnsafeMutablePointer<FCGX_Request>) -> HTTPRequest {
        let input = request.pointee.`in`
        return Self.request(maxBodyBytes: maxBodyBytes, param: { param($0, request) }) { buffer in
            Int(FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), input))
        }
    }

    /// The request that FastCGI parameters and a body stream describe; `read` fills a buffer
    /// from the stream and returns how much it read, 0 or less at its end. Apart from libfcgi
    /// so that it can be fuzzed (Tests/Fuzz, targets `fastcgi` and `app`).
    package static func request(maxBodyBytes: Int, param: (String) -> String?,
                                read: (UnsafeMutableRawBufferPointer) -> Int) -> HTTPRequest {
        // A CONTENT_LENGTH that is not a number, or is negative, counts as absent (a negative
        // one used to trap allocating the body; nginx never sends one, other clients might).
        let declared = param("CONTENT_LENGTH").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        var body: [UInt8] = []
        var exceeded = false
        if let declared, declared > maxBodyBytes {
            exceeded = true
            drain(read, upTo: min(declared, 16 << 20))
        } else {
            // Read what was declared (or until EOF when no length came), never more than the limit + 1.
            let want = declared ?? (maxBodyBytes + 1)
            body = [UInt8](repeating: 0, count: want)
            var got = 0
            while got < want {
                let n = body.withUnsafeMutableBytes { raw in read(UnsafeMutableRawBufferPointer(rebasing: raw[got...])) }
                if n <= 0 { break }
                got += n
            }
            body.removeSubrange(got...)
            if got > maxBodyBytes { exceeded = true; body = []; drain(read, upTo: 16 << 20) }
        }
        return HTTPRequest(
            // No defaults: a request without these is malformed and the app refuses it.
            method: param("REQUEST_METHOD") ?? "",
            path: param("DOCUMENT_URI") ?? param("SCRIPT_NAME") ?? "",
            query: param("QUERY_STRING") ?? "",
            contentType: param("CONTENT_TYPE").flatMap { $0.isEmpty ? nil : $0 },
            // nginx passes an absent header as an empty parameter: treat both alike.
            authorization: param("HTTP_AUTHORIZATION").flatMap { $0.isEmpty ? nil : $0 },
            cookie: param("HTTP_COOKIE").flatMap { $0.isEmpty ? nil : $0 },
            acceptLanguage: param("HTTP_ACCEPT_LANGUAGE").flatMap { $0.isEmpty ? nil : $0 },
            userAgent: param("HTTP_USER_AGENT").flatMap { $0.isEmpty ? nil : $0 },
            remoteAddress: param("REMOTE_ADDR") ?? "",
            // Not REMOTE_USER: Debian's stock fastcgi_params sets it from $remote_user, which nginx
            // fills from any "Authorization: Basic" header, checked or not (issue 10, item 3).
            // Only the shipped delegated snippets set this parameter, after auth_basic or
            // auth_request has authenticated the person.
            remoteUser: param("DEVICEGATE_REMOTE_USER").flatMap { $0.isEmpty ? nil : $0 },
            requestID: param("REQUEST_ID") ?? "",
            body: body,
            bodyExceededLimit: exceeded)
    }

    /// Reads and discards input, so the web server is not cut off mid-body.
    private static func drain(_ read: (UnsafeMutableRawBufferPointer) -> Int, upTo limit: Int) {
        var scratch = [UInt8](repeating: 0, count: 16384)
        var total = 0
        while total < limit {
            let n = scratch.withUnsafeMutableBytes { read($0) }
            if n <= 0 { break }
            total += n
        }
    }

    private func writeResponse(_ response: HTTPResponse, to out: UnsafeMutablePointer<FCGX_Stream>?) {
        var head = "Status: \(response.status) \(HTTPResponse.reason(response.status))\r\n"
        for (name, value) in response.headers {
            // Never let a control byte split a header (values can carry a subject or a scope).
            // Bytes, not Characters: Swift treats "\r\n" as one Character equal to neither.
            let safe = value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
                ? String(decoding: value.utf8.filter { $0 >= 0x20 && $0 != 0x7F }, as: UTF8.self) : value
            head += "\(name): \(safe)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: response.body)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = FCGX_PutStr($0.baseAddress, Int32($0.count), out) }
        }
    }
}
