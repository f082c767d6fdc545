import DeviceGateHTTP
import FastCGIServer
import Testing

/// Bugs the fuzzer found, pinned down beside their corpus inputs.
struct RegressionTests {
    /// Tests/Fuzz/corpus/fastcgi/negative-length: a negative CONTENT_LENGTH allocated a body of
    /// negative size and trapped the worker. Now it counts as absent: the body is read to its end.
    @Test(arguments: ["-1", "-65537", "-9223372036854775808"])
    func negativeContentLengthIsAbsent(_ length: String) {
        let body = Array("client_id=tv".utf8)
        var offset = 0
        let request = FastCGIWorker.request(maxBodyBytes: 1024, param: { $0 == "CONTENT_LENGTH" ? length : nil }) { buffer in
            let n = min(buffer.count, body.count - offset)
            buffer.copyBytes(from: body[offset..<offset + n])
            offset += n
            return n
        }
        #expect(request.body == body)
        #expect(!request.bodyExceededLimit)
    }
}
