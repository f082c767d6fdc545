import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The two things the tool does, with the network, files and terminal; every decision is in DeviceGateLogin.
struct Login {
    let issuer: String
    let clientID: String
    let scope: String?
    let tokenFile: String?
    let svgFile: String?
    let http: CurlClient
    /// Never printed; only in the Authorization header.
    let secret: String?

    static let deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

    /// RFC 6749 §2.3.1: a confidential client authenticates with Basic; a public one names itself
    /// with `client_id` in the body (§3.2.1).
    private func clientAuthentication() -> (fields: [(String, String)], authorization: String?) {
        if let secret { return ([], FormEncoding.basicAuthorization(clientID: clientID, secret: secret)) }
        return ([("client_id", clientID)], nil)
    }

    private func discover() throws(LoginFailure) -> DiscoveryDocument {
        let answer = try http.get(DiscoveryDocument.url(forIssuer: issuer))
        return try DiscoveryDocument.parse(status: answer.status, body: answer.body, expectedIssuer: issuer).get()
    }

    /// RFC 8628 §3.1-3.5.
    func signIn() throws(LoginFailure) {
        let discovery = try discover()
        let auth = clientAuthentication()
        var fields = auth.fields
        if let scope { fields.append(("scope", scope)) }
        let started = Terminal.now()
        let answer = try http.post(discovery.deviceAuthorizationEndpoint, form: fields, authorization: auth.authorization)
        let authorization = try DeviceAuthorization.parse(status: answer.status, body: answer.body).get()

        var terminal = Terminal()
        show(authorization, on: terminal)
        if let svgFile, let matrix = QREncoder.matrix(for: authorization.qrText) {
            try PrivateFile.replace(svgFile, with: Data(matrix.svg().utf8))
        }
        if !terminal.animated {
            terminal.say("Waiting for approval (the code expires in \(authorization.expiresIn / 60) min \(authorization.expiresIn % 60) s)…")
        }

        var schedule = DevicePollSchedule(authorization: authorization, startedAt: started)
        var step = schedule.first
        var pollFields = [("grant_type", Self.deviceCodeGrant), ("device_code", authorization.deviceCode)]
        pollFields += auth.fields
        while true {
            switch step {
            case .poll(let after):
                wait(seconds: after, schedule: schedule, terminal: &terminal)
                let poll: CurlClient.Answer
                do {
                    poll = try http.post(discovery.tokenEndpoint, form: pollFields, authorization: auth.authorization)
                } catch {
                    terminal.endCountdown()
                    throw error
                }
                let tokens = TokenEndpointAnswer.parse(status: poll.status, body: poll.body)
                step = schedule.next(after: tokens, now: Terminal.now())
                if case .done = step, case .tokens(let json) = tokens {
                    terminal.endCountdown()
                    try deliver(json)
                    if tokenFile != nil { terminal.say("Signed in; the tokens are in \(tokenFile!).") }
                    return
                }
            case .done:
                return
            case .fail(let failure):
                terminal.endCountdown()
                throw failure
            }
        }
    }

    /// RFC 6749 §6, then the file rewritten (the server may rotate the refresh token).
    func refresh() throws(LoginFailure) {
        guard let tokenFile else { throw .localFile("--refresh needs --token-file") }
        let data = try PrivateFile.read(tokenFile, what: "token file", failure: LoginFailure.localFile)
        let previous = JSONObject(data: data)
        let refreshToken = try TokenFile.refreshToken(in: previous, path: tokenFile).get()
        let discovery = try discover()
        let auth = clientAuthentication()
        let answer = try http.post(discovery.tokenEndpoint,
                                   form: [("grant_type", "refresh_token"), ("refresh_token", refreshToken)] + auth.fields,
                                   authorization: auth.authorization)
        switch TokenEndpointAnswer.parse(status: answer.status, body: answer.body) {
        case .tokens(let json):
            try PrivateFile.replace(tokenFile, with: TokenFile.rotated(previous: previous!, response: json).serialized())
            StandardStream.output.write(json.string("access_token")! + "\n")
        case .error(code: "invalid_grant", _):
            throw .refreshRefused
        case let other:
            throw other.failure(during: "the refresh")
        }
    }

    private func deliver(_ tokens: JSONObject) throws(LoginFailure) {
        if let tokenFile {
            try PrivateFile.replace(tokenFile, with: tokens.serialized())
        } else {
            StandardStream.output.write(Array(tokens.serialized()))
        }
    }

    private func show(_ authorization: DeviceAuthorization, on terminal: Terminal) {
        terminal.say("To sign in, open \(Text.printable(authorization.verificationURI)) and enter the code \(Text.printable(authorization.userCode, limit: 40))")
        if let complete = authorization.verificationURIComplete {
            terminal.say("or open \(Text.printable(complete)) (the QR code below).")
        }
        if terminal.animated, let matrix = QREncoder.matrix(for: authorization.qrText) {
            terminal.say(matrix.terminalLines())
        }
    }

    /// Sleeps `seconds`, redrawing the countdown each second on a terminal.
    private func wait(seconds: Int, schedule: DevicePollSchedule, terminal: inout Terminal) {
        guard terminal.animated else {
            Terminal.sleep(seconds: Double(seconds))
            return
        }
        let until = Terminal.now() + Double(seconds)
        while true {
            let now = Terminal.now()
            let remaining = until - now
            guard remaining > 0 else { break }
            terminal.countdown(Countdown.line(secondsLeft: schedule.secondsLeft(now: now), nextPollIn: Int(remaining.rounded(.up))))
            Terminal.sleep(seconds: min(1, remaining))
        }
    }
}
