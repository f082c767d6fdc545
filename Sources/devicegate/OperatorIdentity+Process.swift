#if canImport(Glibc)
import Glibc
#endif

extension OperatorIdentity {
    /// The identity of this process: its login uid, effective uid and environment, looked up
    /// in the system's password database.
    static func current() -> OperatorIdentity {
        OperatorIdentity(loginUID: readTextFile("/proc/self/loginuid").flatMap(loginUID(procText:)),
                         effectiveUID: geteuid(), environment: environment(), accounts: .system)
    }

    /// The login uid in `/proc/self/loginuid`'s text (decimal, perhaps with a newline); nil
    /// for anything else, which counts as unset.
    static func loginUID(procText: String) -> uid_t? {
        var text = Substring(procText)
        if text.last == "\n" { text.removeLast() }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(text)
    }
}
