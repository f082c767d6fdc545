import DeviceGateHTTP
import FastCGIServer

/// `FastCGIWorker.request`: FastCGI parameters and a body stream become an `HTTPRequest`,
/// whatever CONTENT_LENGTH says and however the stream arrives in pieces.
///
/// Input: CONTENT_LENGTH, a NUL, the body limit (unsigned decimal, modulo 4096, plus 1), a NUL,
/// the sizes of the pieces the stream hands out (one byte each, cycled), a NUL, the body.
public enum FastCGIProperties {
    public static func check(_ data: [UInt8]) throws(PropertyViolation) {
        let f = fields(data, separator: 0, count: 4)
        let length = String(decoding: f[0], as: UTF8.self)
        let limit = 1 + Int(UInt(String(decoding: f[1].prefix(9), as: UTF8.self)) ?? 65_535) % 4096
        let stream = BodyStream(Array(f[3]), pieces: f[2].map { Int($0) })
        let params = [
            "CONTENT_LENGTH": length, "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/application/o/token/",
            "CONTENT_TYPE": "", "HTTP_AUTHORIZATION": "", "HTTP_COOKIE": "a=b", "REMOTE_ADDR": "192.0.2.1",
        ]
        let request = FastCGIWorker.request(maxBodyBytes: limit, param: { params[$0] }, read: stream.read)

        let body = Array(f[3])
        // CONTENT_LENGTH is a non-negative decimal number, or as good as absent.
        let declared = Int(length).flatMap { $0 >= 0 ? $0 : nil }
        let context = "CONTENT_LENGTH \(quoted(length)), limit \(limit), body of \(body.count) bytes"
        if let declared, declared > limit {
            try require(request.bodyExceededLimit && request.body.isEmpty, "\(context): over the limit but not flagged, or a body kept")
            try require(stream.consumed >= min(declared, body.count), "\(context): the declared body was not drained")
        } else if let declared {
            try require(!request.bodyExceededLimit && request.body == Array(body.prefix(declared)),
                        "\(context): got \(request.body.count) bytes, flagged \(request.bodyExceededLimit)")
        } else if body.count > limit {
            try require(request.bodyExceededLimit && request.body.isEmpty, "\(context), no length: over the limit but not flagged")
        } else {
            try require(!request.bodyExceededLimit && request.body == body, "\(context), no length: got \(request.body.count) bytes")
        }
        try require(request.method == "POST" && request.path == "/application/o/token/" && request.query == "", "parameters were not passed through")
        try require(request.contentType == nil && request.authorization == nil && request.cookie == "a=b" && request.remoteUser == nil,
                    "empty parameters are not absent, or present ones lost")
        try require(request.remoteAddress == "192.0.2.1" && request.requestID == "", "REMOTE_ADDR or REQUEST_ID lost")
    }
}

/// A body as libfcgi's FCGX_GetStr hands it out: at most what the buffer holds, in pieces
/// whose sizes come from `pieces` (cycled; a piece of 0 is taken as 1), then 0 at the end.
final class BodyStream {
    let bytes: [UInt8]
    let pieces: [Int]
    private(set) var consumed = 0
    private var next = 0

    init(_ bytes: [UInt8], pieces: [Int] = []) {
        self.bytes = bytes
        self.pieces = pieces
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = min(buffer.count, bytes.count - consumed)
        if !pieces.isEmpty {
            n = min(n, max(1, pieces[next % pieces.count]))
            next += 1
        }
        guard n > 0 else { return 0 }
        buffer.copyBytes(from: bytes[consumed..<consumed + n])
        consumed += n
        return n
    }
}
