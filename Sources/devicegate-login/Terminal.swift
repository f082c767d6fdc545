import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The person's side: instructions, the QR code and the countdown, all on stderr (stdout carries
/// only the tokens). Animated (`\r`) only when stderr is a terminal.
struct Terminal {
    let animated = isatty(STDERR_FILENO) == 1
    private var drawing = false

    func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Redraws the countdown line in place; nothing at all when stderr is not a terminal.
    mutating func countdown(_ line: String) {
        guard animated else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawing = true
    }

    /// Ends the countdown line so that what follows starts on a fresh one.
    mutating func endCountdown() {
        guard drawing else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawing = false
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
