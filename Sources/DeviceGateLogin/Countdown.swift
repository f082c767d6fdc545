/// The one-line countdown drawn (with `\r`) while waiting on a terminal.
public enum Countdown {
    /// "Waiting for approval: 9:58 left, next check in 5 s"
    public static func line(secondsLeft: Int, nextPollIn: Int) -> String {
        let left = max(0, secondsLeft)
        let seconds = left % 60
        return "Waiting for approval: \(left / 60):\(seconds < 10 ? "0" : "")\(seconds) left, next check in \(max(0, nextPollIn)) s"
    }
}
