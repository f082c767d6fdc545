import DeviceGateConfig
import HostFiles
import Logging
import Observability

/// `GET /_devicegate/metrics` (`metrics.path`): Prometheus text for the whole host, the
/// counter pages of every worker (live or dead) added up, plus the census of flows.
///
/// Answered only to the addresses in `metrics.allow` (loopback by default), behind the nginx
/// example's own `allow 127.0.0.1; deny all;`: request counts and flow gauges are not secret,
/// but they are nobody else's business either.
public final class MetricsEndpoint {
    let allow: [AddressBlock]
    /// The state directory whose `metrics/` holds this host's counter pages.
    let stateRoot: String

    public init(settings: OperationsSettings, stateRoot: String) {
        allow = settings.metricsAllow.compactMap(AddressBlock.init)
        self.stateRoot = stateRoot
    }

    func allows(_ address: String) -> Bool {
        guard let bytes = AddressBlock.parseAddress(address) else { return false }
        return allow.contains { $0.contains(bytes) }
    }

    func respond(_ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        let text = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: 405, headers: text + [("Allow", "GET, HEAD")], body: Array("use GET\n".utf8))
        }
        guard allows(request.remoteAddress) else {
            logger.notice("metrics refused", metadata: ["client.address": "\(request.remoteAddress)"])
            return HTTPResponse(status: 403, headers: text, body: Array("metrics are served to metrics.allow addresses only\n".utf8))
        }
        let values = MetricsExposition.sum(CounterPage.readSlots(in: stateRoot, layout: MetricsLayout.id, count: MetricsLayout.count))
        let census = CounterPage.read(named: "census", in: stateRoot, layout: MetricsLayout.censusID, count: MetricsLayout.censusCount)
        return HTTPResponse(status: 200, headers: [("Content-Type", MetricsExposition.contentType), ("Cache-Control", "no-store")],
                            body: Array(MetricsExposition.render(values, census: census).utf8))
    }
}
