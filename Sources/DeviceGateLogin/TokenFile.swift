/// What the token file holds: the token response (RFC 6749 §5.1) as JSON.
public enum TokenFile {
    /// The refresh token in the file, or a failure saying why there is none.
    public static func refreshToken(in json: JSONObject?, path: String) -> Result<String, LoginFailure> {
        guard let json else {
            return .failure(.localFile("\(path) does not hold a token response (JSON object)"))
        }
        guard let token = json.string("refresh_token"), !token.isEmpty else {
            return .failure(.localFile("\(path) holds no refresh_token (was offline_access or refresh allowed for this client?)"))
        }
        return .success(token)
    }

    /// The file after a refresh: the new response, keeping the old refresh token only when the
    /// server issued none (RFC 6749 §6: "The authorization server MAY issue a new refresh token,
    /// in which case the client MUST discard the old refresh token"; without one, the old stays valid).
    public static func rotated(previous: JSONObject, response: JSONObject) -> JSONObject {
        var members = response.members
        if response.string("refresh_token") == nil, let old = previous.string("refresh_token") {
            members["refresh_token"] = .string(old)
        }
        return JSONObject(members: members)
    }
}
