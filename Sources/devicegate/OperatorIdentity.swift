#if canImport(Glibc)
import Glibc
#endif

/// Who ran an operator command, as the audit log names them (`operator`, and `run_as` beside it).
///
/// The operator is the account sudo says invoked the command (`SUDO_USER`, as `sudo -u devicegate
/// devicegate grants revoke …` leaves it), else the account of the effective uid (getpwuid_r).
/// No other environment variable counts: `USER` and `LOGNAME` are whatever the caller set.
/// `SUDO_USER` is believed only when it names an existing account and agrees with `SUDO_UID`
/// when sudo set that too; since anyone can set it, the effective account is always recorded as
/// well (`run_as`), and that one the kernel vouches for.
struct OperatorIdentity: Equatable {
    /// The audit log's `operator`.
    let name: String
    /// The account the command runs as: the audit log's `run_as`.
    let effectiveAccount: String

    /// The identity of this process.
    static func current() -> OperatorIdentity {
        let env = environment()
        let sudoUser = env["SUDO_USER"]
        let effective = accountName(uid: geteuid()) ?? "uid \(geteuid())"
        return OperatorIdentity(sudoUser: sudoUser, sudoUID: env["SUDO_UID"],
                                uidOfSudoUser: sudoUser.flatMap(uid(ofAccount:)), effectiveAccount: effective)
    }

    /// The decision, given what the environment and the password database say.
    init(sudoUser: String?, sudoUID: String?, uidOfSudoUser: uid_t?, effectiveAccount: String) {
        self.effectiveAccount = effectiveAccount
        if let sudoUser, !sudoUser.isEmpty, let uid = uidOfSudoUser, sudoUID.map({ UInt32($0) == uid }) ?? true {
            name = sudoUser
        } else {
            name = effectiveAccount
        }
    }

    /// The audit details every operator revocation carries.
    var auditDetails: [(String, String)] { [("via", "cli"), ("operator", name), ("run_as", effectiveAccount)] }

    private static func accountName(uid: uid_t) -> String? {
        account { entry, buffer, size, result in getpwuid_r(uid, &entry, buffer, size, &result) }?.name
    }

    private static func uid(ofAccount name: String) -> uid_t? {
        account { entry, buffer, size, result in getpwnam_r(name, &entry, buffer, size, &result) }?.uid
    }

    /// One reentrant passwd lookup (getpwuid_r, getpwnam_r), its buffer grown on ERANGE; nil
    /// when there is no such account or the database cannot be read.
    private static func account(
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
