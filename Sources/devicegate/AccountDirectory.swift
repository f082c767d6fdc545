#if canImport(Glibc)
import Glibc
#endif

/// The password database as `OperatorIdentity` asks it: an account's name by uid, a uid by
/// name; nil when there is no such account. `system` asks the C library (getpwuid_r,
/// getpwnam_r: reentrant, so no static buffer is shared).
struct AccountDirectory: Sendable {
    let name: @Sendable (uid_t) -> String?
    let uid: @Sendable (String) -> uid_t?

    /// The system's database (files, or whatever nsswitch.conf names).
    static let system = AccountDirectory(
        name: { uid in entry { e, buffer, size, result in getpwuid_r(uid, &e, buffer, size, &result) }?.name },
        uid: { name in entry { e, buffer, size, result in getpwnam_r(name, &e, buffer, size, &result) }?.uid })

    /// One reentrant lookup, its buffer grown on ERANGE up to 1 MiB; nil when there is no
    /// such account or the database cannot be read.
    private static func entry(
        _ lookup: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> (name: String, uid: uid_t)? {
        var size = max(1024, Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))))
        while size <= 1 << 20 {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let status = lookup(&entry, buffer, size, &result)
            if status == ERANGE { size *= 2; continue }
            guard status == 0, result != nil, let name = entry.pw_name else { return nil }
            return (String(cString: name), entry.pw_uid)
        }
        return nil
    }
}
