#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the token endpoint said: tokens (RFC 6749 §5.1) or an error (§5.2).
public enum TokenEndpointAnswer: @unchecked Sendable {
    case tokens(JSONObject)
    /// `error` and, when the server gave one, `error_description`.
    case error(code: String, description: String?)
    /// The server failed (5xx).
    case unavailable(status: Int)
    /// Not an RFC 6749 answer.
    case unreadable(status: Int)

    /// RFC 6749 §5.1: a 200 with `access_token` and `token_type`; §5.2: a JSON object with `error`.
    public static func parse(status: Int, body: Data) -> TokenEndpointAnswer {
        if status >= 500 { return .unavailable(status: status) }
        let json = JSONObject(data: body)
        if status == 200, let json, let token = json.string("access_token"), !token.isEmpty, json.string("token_type") != nil {
            return .tokens(json)
        }
        if status != 200, let json, let code = json.string("error"), !code.isEmpty {
            return .error(code: code, description: json.string("error_description"))
        }
        return .unreadable(status: status)
    }

    /// The failure for an answer that is not what the caller waited for.
    public func failure(during what: String) -> LoginFailure {
        switch self {
        case .tokens:
            return .refused("\(what): unexpected tokens")
        case .error(let code, let description):
            return .refused(TokenEndpointAnswer.describe(what, code: code, description: description))
        case .unavailable(let status):
            return .network("\(what): the server answered HTTP \(status)")
        case .unreadable(let status):
            return .refused("\(what): the server answered HTTP \(status) without an OAuth answer")
        }
    }

    static func describe(_ what: String, code: String, description: String?) -> String {
        var line = "\(what) was refused: \(Text.printable(code, limit: 60))"
        if let description, !description.isEmpty { line += " (\(Text.printable(description)))" }
        return line
    }

    /// The failure for a non-200 answer from an endpoint that answers RFC 6749 §5.2 errors.
    static func refusal(of what: String, status: Int, json: JSONObject?) -> LoginFailure {
        if let json, let code = json.string("error"), !code.isEmpty {
            return .refused(describe(what, code: code, description: json.string("error_description")))
        }
        return .refused("\(what): the server answered HTTP \(status) without an OAuth answer")
    }
}
