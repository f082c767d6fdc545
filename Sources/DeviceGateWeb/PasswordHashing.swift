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

    /// A hash of a random password, verified against when the users file cannot be read or
    /// holds no usable hash (nothing to tell apart then); otherwise see `DecoyHashes`.
    static let fallbackDecoy: String = hash(Encoding.base64URL(SystemSecureRandom().bytes(18))) ?? "$y$j9T$invalid"

    /// What fixes a hash's cost: its scheme and parameters (`$2y$05$`, `$y$j9T$`, `$7$` with
    /// N, r, p) and the length of its salt. nil for methods `verify` refuses or malformed hashes.
    public static func costSetting(of hash: String) -> (prefix: String, saltLength: Int)? {
        guard isAccepted(hash) else { return nil }
        let fields = hash.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        switch fields[1] {
        case "2a", "2b", "2y":
            // $2y$NN$ + 22 characters of salt + 31 of hash.
            guard fields.count == 4, fields[2].count == 2, fields[3].count == 53 else { return nil }
            return ("$\(fields[1])$\(fields[2])$", 22)
        case "y", "gy":
            guard fields.count == 5, !fields[2].isEmpty, !fields[3].isEmpty else { return nil }
            return ("$\(fields[1])$\(fields[2])$", fields[3].count)
        default:
            // scrypt: $7$ + 11 characters of N, r, p + salt, then $ and the hash.
            guard fields.count == 4, fields[2].count > 11 else { return nil }
            return ("$7$" + fields[2].prefix(11), fields[2].count - 11)
        }
    }

    /// A hash of a random password with the given cost setting and a fresh random salt; nil
    /// if libcrypt refuses it.
    static func decoy(prefix: String, saltLength: Int, random: any SecureRandom = SystemSecureRandom()) -> String? {
        let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var salt = random.bytes(saltLength).map { alphabet[Int($0) & 63] }
        // bcrypt's 22nd character carries 2 bits: keep it canonical.
        if prefix.hasPrefix("$2"), let last = salt.indices.last { salt[last] = Array(".Oeu".utf8)[Int(salt[last]) & 3] }
        let setting = prefix + String(decoding: salt, as: UTF8.self)
        return crypt(Encoding.base64URL(random.bytes(18)), setting: setting)
    }
}

/// The decoy hash an unknown username is verified against, so that it costs what a known
/// username's does and sign-in time does not tell which names exist. It has the cost setting
/// most common in the users file (a file of `htpasswd -B` lines gets a bcrypt cost-5 decoy, a
/// file of `mkpasswd` lines a yescrypt one), made again whenever the file read at a sign-in
/// has another most common setting. One per worker, used from one thread.
final class DecoyHashes {
    private var cached: (key: String, hash: String)?

    func decoy(for users: UsersFile?) -> String {
        var tally: [String: (count: Int, first: Int, setting: (prefix: String, saltLength: Int), sample: String)] = [:]
        for (index, entry) in (users?.entries ?? []).enumerated() {
            guard let setting = PasswordHashing.costSetting(of: entry.hash) else { continue }
            let key = "\(setting.prefix) \(setting.saltLength)"
            tally[key, default: (0, index, setting, entry.hash)].count += 1
        }
        // The most common setting; on a tie, the one that appears first.
        guard let (key, top) = tally.max(by: { ($0.value.count, -$0.value.first) < ($1.value.count, -$1.value.first) }) else {
            return PasswordHashing.fallbackDecoy
        }
        if let cached, cached.key == key { return cached.hash }
        // If libcrypt will not take a fresh salt in this setting, a real hash of it costs the same
        // (the result is never accepted: an unknown name never signs in).
        let hash = PasswordHashing.decoy(prefix: top.setting.prefix, saltLength: top.setting.saltLength) ?? top.sample
        cached = (key, hash)
        return hash
    }
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
