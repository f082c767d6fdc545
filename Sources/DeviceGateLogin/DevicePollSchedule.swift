/// The device's polling loop as decisions, RFC 8628 §3.4-3.5; the caller sleeps, posts and
/// passes each answer in with the time. Times are seconds on any monotonic clock.
public struct DevicePollSchedule: Equatable, Sendable {
    /// What to do next.
    public enum Step: Equatable, Sendable {
        /// Wait this many seconds, then poll again.
        case poll(after: Int)
        /// Tokens arrived: stop.
        case done
        /// Stop with this failure.
        case fail(LoginFailure)
    }

    /// §3.5 slow_down: "the interval MUST be increased by 5 seconds for this and all subsequent requests."
    public static let slowDownIncrement = 5

    /// The current polling interval in seconds.
    public private(set) var interval: Int
    /// When the device code expires (§3.2 `expires_in` after the start).
    public let deadline: Double

    public init(authorization: DeviceAuthorization, startedAt: Double) {
        interval = authorization.interval
        deadline = startedAt + Double(authorization.expiresIn)
    }

    /// The first poll: one interval after the start (§3.4 "the client SHOULD wait at least interval").
    public var first: Step { .poll(after: interval) }

    /// Seconds until the code expires, never negative.
    public func secondsLeft(now: Double) -> Int { max(0, Int((deadline - now).rounded(.up))) }

    /// The step after the token endpoint's `answer` at `now`.
    public mutating func next(after answer: TokenEndpointAnswer, now: Double) -> Step {
        switch answer {
        case .tokens:
            return .done
        case .error(code: "authorization_pending", _):
            return waitOrExpire(now: now)
        case .error(code: "slow_down", _):
            interval += Self.slowDownIncrement
            return waitOrExpire(now: now)
        case .error(code: "access_denied", _):
            return .fail(.accessDenied)
        case .error(code: "expired_token", _):
            return .fail(.expiredToken)
        default:
            return .fail(answer.failure(during: "polling the token endpoint"))
        }
    }

    /// A server that keeps saying pending after `expires_in` is not polled forever: the code has
    /// expired, whatever it says (§3.2 "The lifetime in seconds of the device_code").
    private func waitOrExpire(now: Double) -> Step {
        now >= deadline ? .fail(.expiredToken) : .poll(after: interval)
    }
}
