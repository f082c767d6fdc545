#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The person's side: instructions, the QR code and the countdown, all on stderr (stdout carries
/// only the tokens). Animated (`\r`) only when stderr is a terminal.
struct Terminal {
    let animated = isatty(STDERR_FILENO) == 1
    private var drawing = false

    func say(_ line: String) {
        StandardStream.error.write(line + "\n")
    }

    /// Redraws the countdown line in place; nothing at all when stderr is not a terminal.
    mutating func countdown(_ line: String) {
        guard animated else { return }
        StandardStream.error.write("\r\u{1B}[K" + line)
        drawing = true
    }

    /// Ends the countdown line so that what follows starts on a fresh one.
    mutating func endCountdown() {
        guard drawing else { return }
        StandardStream.error.write("\r\u{1B}[K")
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

/// stdout and stderr through write(2): whole strings, EINTR retried, no buffering to flush.
struct StandardStream {
    let fd: Int32

    static let output = StandardStream(fd: STDOUT_FILENO)
    static let error = StandardStream(fd: STDERR_FILENO)

    func write(_ text: String) {
        write(Array(text.utf8))
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }
}
