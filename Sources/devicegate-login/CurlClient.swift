import CCurl
import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// HTTP(S) through libcurl: the system CA bundle, or `--ca-file`; no redirects followed (an
/// OAuth endpoint that redirects is misconfigured, and a redirect would carry the form on).
final class CurlClient {
    struct Answer {
        let status: Int
        let body: Data
    }

    private let caFile: String?
    /// Answers above this size are cut off: a hostile server cannot fill memory.
    private static let maxBody = 1 << 20

    init(caFile: String?) {
        self.caFile = caFile
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    func get(_ url: String) throws(LoginFailure) -> Answer {
        try perform(url: url, form: nil, authorization: nil)
    }

    /// POSTs `form` (RFC 6749 Appendix B encoding); `authorization` is an `Authorization` value.
    func post(_ url: String, form: [(String, String)], authorization: String?) throws(LoginFailure) -> Answer {
        try perform(url: url, form: FormEncoding.body(form), authorization: authorization)
    }

    private final class Sink {
        var data = Data()
        var overflowed = false
    }

    private func perform(url: String, form: String?, authorization: String?) throws(LoginFailure) -> Answer {
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw .refused("not an http(s) address: \(Text.quoted(url))")
        }
        guard let handle = curl_easy_init() else { throw .network("libcurl could not start a request") }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headers) }
        headers = curl_slist_append(headers, "Accept: application/json")
        if let authorization { headers = curl_slist_append(headers, "Authorization: " + authorization) }

        var setup = CURLE_OK
        func set(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
        set(dg_curl_set_string(handle, CURLOPT_URL, url))
        set(dg_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(dg_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(dg_curl_set_long(handle, CURLOPT_NOSIGNAL, 1))
        set(dg_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, 10))
        set(dg_curl_set_long(handle, CURLOPT_TIMEOUT, 30))
        set(dg_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(dg_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        set(dg_curl_set_string(handle, CURLOPT_USERAGENT, "devicegate-login/1"))
        if let caFile { set(dg_curl_set_string(handle, CURLOPT_CAINFO, caFile)) }
        set(dg_curl_set_headers(handle, headers))
        set(dg_curl_set_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque()))
        set(dg_curl_set_write_function(handle) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            guard sink.data.count + length <= CurlClient.maxBody else {
                sink.overflowed = true
                return 0
            }
            if let data { sink.data.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
            return length
        })
        if let form {
            // COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift string's buffer may go.
            set(dg_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, form.utf8.count))
            set(dg_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, form))
        }
        guard setup == CURLE_OK else {
            throw .network("libcurl refused an option: \(String(cString: curl_easy_strerror(setup)))")
        }
        let result = curl_easy_perform(handle)
        if sink.overflowed { throw .refused("the answer from \(Text.quoted(url)) is larger than 1 MiB") }
        guard result == CURLE_OK else {
            throw .network("cannot reach \(Text.quoted(url)): \(String(cString: curl_easy_strerror(result)))")
        }
        var status = 0
        _ = dg_curl_response_code(handle, &status)
        return Answer(status: status, body: sink.data)
    }
}
