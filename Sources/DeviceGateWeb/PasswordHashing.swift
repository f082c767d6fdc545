import CCrypt
import DeviceFlow

/// Password hashes through the system's libxcrypt (`crypt_rn`, `crypt_gensalt_rn`), so the
/// users file accepts exactly what `htpasswd -B` (bcrypt, `$2y$`) and `mkpasswd` (yescrypt,
/// `$y$`) write.
public enum PasswordHashing {
    /// Hash methods accepted in the users file: bcrypt, yescrypt, gost-yescrypt and scrypt.
    /// Older crypt methods (DES, MD5, SHA-crypt) are refused rather than trusted.
    public static let acceptedPrefixes = ["$2a$", "$2b$", "$2y$", "$y$", "$gy$", "$7$"]

    public enum Method: String, Sendable, CaseIterable {
        case yescrypt
        case bcrypt
        var prefix: String { self == .yescrypt ? "$y$" : "$2b$" }
    }

    public static func isAccepted(_ hash: String) -> Bool {
        acceptedPrefixes.contains { hash.hasPrefix($0) }
    }

    /// crypt_rn(3) with its own scratch area; nil when libcrypt refuses the setting.
    static func crypt(_ phrase: String, setting: String) -> String? {
        let size = MemoryLayout<crypt_data>.size
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            // The scratch area held the password's derived state: wipe it before freeing.
            scratch.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            scratch.deallocate()
        }
        guard let out = crypt_rn(phrase, setting, scratch, Int32(size)) else { return nil }
        let result = String(cString: out)
        // Failure tokens start with "*" (crypt(5)).
        return result.hasPrefix("*") ? nil : result
    }

    /// True when `password` matches `hash`. The comparison of the two hash strings is constant
    /// time; a refused or unknown method never matches.
    public static func verify(_ password: String, hash: String) -> Bool {
        guard isAccepted(hash), !password.utf8.contains(0), let computed = crypt(password, setting: hash) else { return false }
        return constantTimeEquals(Array(computed.utf8), Array(hash.utf8))
    }

    /// A fresh hash with a salt from the system CSPRNG (libxcrypt reads getrandom(2) when no
    /// random bytes are passed), at libxcrypt's default cost.
    public static func hash(_ password: String, method: Method = .yescrypt) -> String? {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn(method.prefix, 0, nil, 0, &setting, Int32(setting.count)) != nil else { return nil }
        let salt = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !salt.hasPrefix("*") else { return nil }
        return crypt(password, setting: salt)
    }

    /// A hash of a random password, verified against when the username is unknown so that a
    /// wrong username costs the same time as a wrong password.
    static let decoy: String = hash(Encoding.base64URL(SystemSecureRandom().bytes(18))) ?? "$y$j9T$invalid"
}

/// The users file of embedded sign-in: htpasswd format, `name:hash` a line, `#` comments.
public struct UsersFile: Sendable, Equatable {
    public var entries: [(name: String, hash: String)]

    public static func == (lhs: UsersFile, rhs: UsersFile) -> Bool {
        lhs.entries.elementsEqual(rhs.entries, by: { $0 == $1 })
    }

    public init(entries: [(name: String, hash: String)] = []) { self.entries = entries }

    /// Parses the file's text; lines that are not `name:hash` are skipped (and reported).
    public static func parse(_ text: String) -> (file: UsersFile, badLines: [Int]) {
        var entries: [(String, String)] = []
        var bad: [Int] = []
        // "\r\n" is one Character in Swift: split on both line ends.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { bad.append(index + 1); continue }
            let name = String(line[..<colon]), hash = String(line[line.index(after: colon)...])
            guard isValidUsername(name), !hash.isEmpty else { bad.append(index + 1); continue }
            entries.append((name, hash))
        }
        return (UsersFile(entries: entries), bad)
    }

    public func hash(for name: String) -> String? {
        entries.first { $0.name == name }?.hash
    }

    /// Adds or replaces `name`.
    public mutating func set(_ name: String, hash: String) {
        if let i = entries.firstIndex(where: { $0.name == name }) { entries[i].hash = hash } else { entries.append((name, hash)) }
    }

    public func rendered() -> String {
        entries.map { "\($0.name):\($0.hash)\n" }.joined()
    }

    /// Usernames are 1–64 characters of letters, digits and `. _ @ + -`: safe in the file
    /// format, in logs and as an OIDC `sub`.
    public static func isValidUsername(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "@") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
        }
    }
}
