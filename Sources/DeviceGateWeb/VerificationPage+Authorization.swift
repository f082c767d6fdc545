import DeviceFlow
import DeviceGateHTTP
import Logging

// The authorization endpoint, its sign-in and consent page, and RP-initiated logout
// (issue 13, web branch). Until that lands, each answers 404 like any unknown page.
extension VerificationPage {
    func answerAuthorization(_ route: VerificationRoute, method: String, _ request: HTTPRequest, logger: Logger) throws -> HTTPResponse {
        let visitor = try identify(request, now: clock.now())
        return page(404, "message", visitor, [
            "title": "Not found", "heading": "Page not found", "text": "There is no page at this address.",
        ])
    }
}
