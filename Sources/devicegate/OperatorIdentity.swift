#if canImport(Glibc)
import Glibc
#endif

/// Who ran an operator command, as the audit log names them: `operator`, `claimed_operator`
/// and `run_as`, recorded by every command that revokes or decides (`grants revoke`,
/// `sessions revoke`, `users remove`, `approve`, `deny`) through `auditDetails`.
///
/// - `operator` is the account of the audit login uid (`/proc/self/loginuid`): pam_loginuid
///   sets it at login, sudo and su keep it, and an unprivileged process cannot change it
///   (only CAP_AUDIT_CONTROL can). When it is unset (4294967295: no PAM login, as in
///   containers and CI) the operator is the account of the effective uid instead.
/// - `claimed_operator` is `SUDO_USER` when it names an existing account (and agrees with
///   `SUDO_UID` when that is set). Anyone who may run the command can set it
///   (`sudo -u devicegate env SUDO_USER=alice …`), so it is only ever a claim beside the operator.
/// - `run_as` is the account of the effective uid, which the kernel vouches for.
///
/// No other variable counts: `USER` and `LOGNAME` are whatever the caller set. An account the
/// password database does not know is named `uid N`.
struct OperatorIdentity: Equatable {
    /// The audit log's `operator`.
    let operatorAccount: String
    /// The audit log's `claimed_operator`, when sudo's variables name an account.
    let claimedOperator: String?
    /// The account the command runs as: the audit log's `run_as`.
    let runAs: String

    /// The value of `/proc/self/loginuid` that means "never set" (`(uid_t)-1`).
    static let unsetLoginUID: uid_t = 4_294_967_295

    /// The decision, from the login uid (nil or `unsetLoginUID` when there is none), the
    /// effective uid, the environment and the password database.
    init(loginUID: uid_t?, effectiveUID: uid_t, environment: [String: String], accounts: AccountDirectory) {
        func name(_ uid: uid_t) -> String { accounts.name(uid) ?? "uid \(uid)" }
        runAs = name(effectiveUID)
        if let loginUID, loginUID != Self.unsetLoginUID {
            operatorAccount = name(loginUID)
        } else {
            operatorAccount = runAs
        }
        claimedOperator = Self.claim(environment, accounts: accounts)
    }

    /// `SUDO_USER`, when it names an account whose uid is `SUDO_UID` (if sudo set that too).
    private static func claim(_ environment: [String: String], accounts: AccountDirectory) -> String? {
        guard let user = environment["SUDO_USER"], !user.isEmpty, let uid = accounts.uid(user) else { return nil }
        if let claimedUID = environment["SUDO_UID"], UInt32(claimedUID) != uid { return nil }
        return user
    }

    /// The audit details every revoking or deciding command records, in this order: the
    /// command (`grants revoke`, `approve`, …), `via: cli`, then who ran it.
    func auditDetails(command: String) -> [(String, String)] {
        [("command", command), ("via", "cli"), ("operator", operatorAccount)]
            + (claimedOperator.map { [("claimed_operator", $0)] } ?? []) + [("run_as", runAs)]
    }
}
