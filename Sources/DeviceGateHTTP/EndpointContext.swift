import DeviceFlow
import DeviceGateConfig
import Logging
import Observability

/// What the OAuth and OIDC endpoints share: the configuration, the flow operations, the clock
/// and the telemetry, and the plumbing every form-posting endpoint goes through. A value both
/// endpoint groups hold, so neither needs the app.
public struct EndpointContext {
    public let configuration: DeviceGateConfiguration
    public let service: FlowService
    public let clock: any WallClock
    /// Audit events and the counters behind the metrics.
    public let telemetry: Telemetry

    public init(configuration: DeviceGateConfiguration, service: FlowService, clock: any WallClock, telemetry: Telemetry) {
        self.configuration = configuration
        self.service = service
        self.clock = clock
        self.telemetry = telemetry
    }

    var now: UnixTime { clock.now() }

    /// Writes an audit event stamped with the request's address and id.
    public func audit(_ kind: AuditEvent.Kind, _ request: HTTPRequest, user: String? = nil, clientID: String? = nil,
                      flowID: String? = nil, scope: String? = nil, details: [(String, String)] = []) {
        telemetry.record(AuditEvent(kind, time: clock.now(), address: request.remoteAddress, user: user, clientID: clientID,
                                    flowID: flowID, scope: scope, requestID: request.requestID, details: details))
    }

    /// The checks every OAuth POST endpoint shares: method, body size, content type, form.
    /// Every failure becomes an RFC 6749 §5.2 JSON error; a storage failure becomes 503
    /// `temporarily_unavailable`.
    func formEndpoint(_ request: HTTPRequest, logger: Logger, _ body: (HTTPRequest, FormFields, Logger) throws -> HTTPResponse) -> HTTPResponse {
        guard request.method == "POST" else {
            return OAuthResponses.error(.methodNotAllowed("use POST"), allow: "POST")
        }
        guard !request.bodyExceededLimit else {
            return OAuthResponses.error(.payloadTooLarge("request body larger than \(configuration.server.maxBodyBytes) bytes"))
        }
        guard FormDecoding.isFormContentType(request.contentType) else {
            return OAuthResponses.error(.invalidRequest("Content-Type must be application/x-www-form-urlencoded"))
        }
        do {
            let form = try FormDecoding.decode(request.body)
            return try body(request, form, logger)
        } catch let error as OAuthError {
            return OAuthResponses.error(error)
        } catch let error as FlowStorageError {
            telemetry.countStorageFailure()
            logger.error("state directory failure", metadata: ["error": "\(error)"])
            let detail = error.kind == .noSpace ? "the server's state storage is full; try again later" : "the server's state storage failed; try again later"
            return OAuthResponses.error(.temporarilyUnavailable(detail))
        } catch {
            logger.error("unexpected failure", metadata: ["error": "\(error)"])
            return OAuthResponses.error(.temporarilyUnavailable("internal error; try again later"))
        }
    }

    /// Authenticates the calling client, RFC 6749 §2.3 / §3.2.1.
    func authenticate(_ request: HTTPRequest, _ form: FormFields) throws(OAuthError) -> ClientRegistration {
        let credentials = try ClientCredentialsExtraction.extract(authorization: request.authorization, form: form)
        switch service.clients.authenticate(credentials) {
        case .success(let client): return client
        case .failure(let error): throw error
        }
    }
}
