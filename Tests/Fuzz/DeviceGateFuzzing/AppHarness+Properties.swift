import DeviceFlow
import DeviceGateHTTP
import DeviceGateTesting

extension AppHarness.Instance {
    /// Whether the verification page answers this path (the OAuth endpoints are asked first).
    func isVerificationPath(_ path: String) -> Bool {
        let endpoints = config.endpoints
        let oauth = [endpoints.deviceAuthorization, endpoints.token, config.discoveryPath, config.jwksPath,
                     endpoints.userinfo, endpoints.introspection, endpoints.revocation]
        if oauth.contains(path) || path.hasPrefix(endpoints.authCheck) { return false }
        // The person's pages of a web app's sign-in.
        if path == endpoints.authorization || path == endpoints.endSession { return true }
        return path == base || path.hasPrefix(base == "/" ? "/" : base + "/")
    }

    /// Whether an absolute Location is a client's registered redirect (or post-logout) URI
    /// with parameters appended: the only place a page may send a browser off this site.
    func isRegisteredClientURI(_ location: String) -> Bool {
        let target = String(location.prefix { $0 != "?" })
        return config.clients.contains { $0.matchesRedirectURI(target) || $0.matchesPostLogoutRedirectURI(target) }
    }

    /// A gateway path nginx should never send (a bare '+' or ',', a bad escape): 500, so that
    /// nginx refuses the request, and only then (`GatewayRequirement`).
    func isMisconfiguredGatewayCheck(_ request: HTTPRequest, _ response: HTTPResponse) -> Bool {
        guard response.status == 500, request.path.hasPrefix(config.endpoints.authCheck) else { return false }
        if case .failure = GatewayRequirement.parse(String(request.path.dropFirst(config.endpoints.authCheck.count))) { return true }
        return false
    }

    /// The properties listed on `AppHarness`.
    func checkResponse(_ response: HTTPResponse, to request: HTTPRequest) throws(PropertyViolation) {
        let status = response.status
        try require((200..<500).contains(status) || isMisconfiguredGatewayCheck(request, response), "status \(status)")
        try require(HTTPResponse.reason(status) != "Status", "status \(status) has no reason phrase")
        for (name, _) in response.headers {
            try require(!name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }, "header name \(quoted(name))")
        }
        for value in headers(response, "Set-Cookie") {
            try require(value.hasPrefix(cookies.sessionName + "=") || value.hasPrefix(cookies.csrfName + "="), "Set-Cookie \(quoted(value))")
        }
        if !request.method.isEmpty, request.path == config.operations.metricsPath {
            try checkMetrics(response)
        } else if !request.method.isEmpty, !request.path.isEmpty, isVerificationPath(request.path) {
            try checkPage(response)
        } else {
            try checkOAuth(response)
        }
    }

    /// The metrics: Prometheus text to the allowed addresses, a short refusal to the others.
    private func checkMetrics(_ response: HTTPResponse) throws(PropertyViolation) {
        let type = response.header("Content-Type") ?? ""
        try require([200, 403, 405].contains(response.status), "metrics answered \(response.status)")
        try require(type.hasPrefix("text/plain"), "metrics with Content-Type \(quoted(type))")
        guard response.status == 200 else { return }
        for line in response.bodyText.split(separator: "\n") where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            try require(line.hasPrefix("devicegate_") && Double(value) != nil, "metrics line \(quoted(String(line)))")
        }
    }

    /// RFC 6749 §5.2 errors, JSON bodies.
    private func checkOAuth(_ response: HTTPResponse) throws(PropertyViolation) {
        let status = response.status
        let type = response.header("Content-Type")
        if type == "application/json" { try require(response.header("X-Content-Type-Options") == "nosniff", "JSON without X-Content-Type-Options: nosniff") }
        if status >= 400 {
            try require(type == "application/json", "error with Content-Type \(String(describing: type))")
            guard let json = JSONValue.parse(response.body), case .object = json else {
                throw PropertyViolation("error body is not a JSON object")
            }
            try require(!(json["error"]?.string ?? "").isEmpty, "error body without a string \"error\"")
            try require(json["error_description"] == nil || json["error_description"]?.string != nil, "error_description is not a string")
            try require(response.header("Cache-Control")?.contains("no-store") == true, "error without Cache-Control: no-store")
            if status == 401 {
                // RFC 6749 §5.2 (client authentication, Basic) or RFC 6750 §3 (bearer tokens).
                let challenge = response.header("WWW-Authenticate") ?? ""
                try require(challenge.hasPrefix("Basic realm=\"devicegate\"") || challenge.hasPrefix("Bearer realm=\"devicegate\""),
                            "401 with WWW-Authenticate \(quoted(challenge))")
            }
            if status == 405 { try require(response.header("Allow") != nil, "405 without Allow") }
        } else if !response.body.isEmpty {
            try require(type == "application/json", "\(status) body with Content-Type \(String(describing: type))")
            guard case .object = JSONValue.parse(response.body) else { throw PropertyViolation("\(status) body is not a JSON object") }
        }
    }

    /// The verification page's answers.
    private func checkPage(_ response: HTTPResponse) throws(PropertyViolation) {
        let status = response.status
        let type = response.header("Content-Type") ?? ""
        if status == 303 {
            let location = response.header("Location") ?? ""
            if isRegisteredClientURI(location) { return }
            try require(location.hasPrefix("/") && !location.hasPrefix("//") && !location.hasPrefix("/\\"), "redirect to \(quoted(location))")
            return
        }
        if type.hasPrefix("text/css") {
            try require(status == 200, "stylesheet with status \(status)")
            return
        }
        try require(type == "text/html; charset=utf-8", "page with Content-Type \(quoted(type))")
        try require(response.header("Content-Security-Policy")?.contains("default-src 'none'") == true, "page without its Content-Security-Policy")
        try require(response.header("X-Frame-Options") == "DENY", "page without X-Frame-Options: DENY")
        try require(response.header("Cache-Control") == "no-store", "page without Cache-Control: no-store")
        if status == 429 { try require(response.header("Retry-After").flatMap { Int($0) }.map { $0 > 0 } == true, "429 without Retry-After") }
        if status == 405 { try require(response.header("Allow") != nil, "405 without Allow") }
        // Parsed as a browser reads it (by code point): strictly formed, and with the element
        // and attribute structure of some benign page. A value that left its attribute or
        // text node shows up as a parse refusal or as structure no template has.
        guard !response.body.isEmpty else { return }
        var body = response.bodyText
        let formPost = response.header("Content-Security-Policy")?.contains("script-src 'sha256-") == true
        if formPost {
            // The one script any page has, exactly once; what is left must parse strictly.
            let script = "<script>document.forms[0].submit();</script>"
            let pieces = body.components(separatedBy: script)
            try require(pieces.count == 2, "form_post page with \(pieces.count - 1) submit scripts")
            body = pieces.joined()
        }
        let tokens: [StrictHTML.Token]
        do { tokens = try StrictHTML.tokens(body) } catch { throw PropertyViolation("page does not parse strictly: \(error)") }
        if formPost { return try checkFormPost(tokens) }
        try require(pageShapes.contains(StrictHTML.shape(tokens)), "page with an element or attribute that no benign page has")
    }

    /// The response_mode=form_post page (its script taken out): one form to a registered
    /// redirect URI, hidden inputs, one button, and nothing else.
    private func checkFormPost(_ tokens: [StrictHTML.Token]) throws(PropertyViolation) {
        var forms = 0
        for token in tokens {
            guard case .start(let name, let attributes) = token else { continue }
            let attribute = { (n: String) in attributes.first { $0.name == n }?.value }
            switch name {
            case "html", "head", "meta", "title", "body", "noscript", "p", "button": break
            case "form":
                forms += 1
                try require(attribute("method") == "post" && isRegisteredClientURI(attribute("action") ?? ""), "form_post to \(quoted(attribute("action") ?? ""))")
            case "input": try require(attribute("type") == "hidden", "form_post with a visible input")
            default: throw PropertyViolation("form_post page with a <\(name)>")
            }
        }
        try require(forms == 1, "form_post page with \(forms) forms")
    }

    private func headers(_ response: HTTPResponse, _ name: String) -> [String] {
        response.headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
}
