import DeviceFlow

/// A session as `sessions list` shows it: when it was signed in, until when, and whether it
/// still works (`revoked` when its subject was revoked after it was signed in). Never its id
/// nor the id's hash.
struct SessionReport {
    let session: WebSession
    let state: String

    init(_ session: WebSession, now: UnixTime, subjectRevokedAt: UnixTime?) {
        self.session = session
        if let marker = subjectRevokedAt, session.authTime <= marker {
            state = "revoked"
        } else {
            state = now < session.expiresAt ? "live" : "expired"
        }
    }

    var json: JSONObject {
        var object = JSONObject()
        object.add("subject", session.subject)
        object.add("state", state)
        object.add("signed_in_at", time: session.authTime)
        object.add("expires_at", time: session.expiresAt)
        return object
    }
}
