#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import devicegate

/// Who the audit log names for an operator command (`OperatorIdentity`): the login uid's
/// account, else the effective uid's; `SUDO_USER` only ever as `claimed_operator`.
struct OperatorIdentityTests {
    /// A password database of four accounts.
    static let accounts: AccountDirectory = {
        let names: [uid_t: String] = [0: "root", 998: "devicegate", 1001: "alice", 1002: "bob"]
        return AccountDirectory(name: { names[$0] },
                                uid: { name in names.first { $0.value == name }?.key })
    }()

    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let loginUID: uid_t?
        let effectiveUID: uid_t
        let environment: [String: String]
        /// operator, claimed_operator, run_as.
        let expected: (String, String?, String)
    }

    static let unset = OperatorIdentity.unsetLoginUID

    @Test(arguments: [
        Case(testDescription: "unset login uid: the effective account", loginUID: unset, effectiveUID: 998,
             environment: [:], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "no loginuid file: the effective account", loginUID: nil, effectiveUID: 0,
             environment: [:], expected: ("root", nil, "root")),
        Case(testDescription: "a set login uid wins over the effective uid", loginUID: 1001, effectiveUID: 998,
             environment: [:], expected: ("alice", nil, "devicegate")),
        Case(testDescription: "forged SUDO_USER under a login: only a claim", loginUID: 1002, effectiveUID: 998,
             environment: ["SUDO_USER": "alice", "SUDO_UID": "1001"], expected: ("bob", "alice", "devicegate")),
        Case(testDescription: "forged SUDO_USER without a login: only a claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": "alice", "SUDO_UID": "1001"], expected: ("devicegate", "alice", "devicegate")),
        Case(testDescription: "real sudo: login and claim agree", loginUID: 1001, effectiveUID: 998,
             environment: ["SUDO_USER": "alice", "SUDO_UID": "1001"], expected: ("alice", "alice", "devicegate")),
        Case(testDescription: "SUDO_USER without SUDO_UID is still a claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": "bob"], expected: ("devicegate", "bob", "devicegate")),
        Case(testDescription: "SUDO_UID disagreeing with SUDO_USER: no claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": "alice", "SUDO_UID": "1002"], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "SUDO_UID not a number: no claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": "alice", "SUDO_UID": "alice"], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "SUDO_USER naming no account: no claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": "mallory\n{\"operator\":\"alice\"}"], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "empty SUDO_USER: no claim", loginUID: unset, effectiveUID: 998,
             environment: ["SUDO_USER": ""], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "USER and LOGNAME never count", loginUID: unset, effectiveUID: 998,
             environment: ["USER": "alice", "LOGNAME": "alice"], expected: ("devicegate", nil, "devicegate")),
        Case(testDescription: "a login uid without an account is named by number", loginUID: 4242, effectiveUID: 998,
             environment: [:], expected: ("uid 4242", nil, "devicegate")),
        Case(testDescription: "an effective uid without an account is named by number", loginUID: unset, effectiveUID: 5555,
             environment: [:], expected: ("uid 5555", nil, "uid 5555")),
    ])
    func theOperatorIsTheLoginAccountAndSudoUserOnlyAClaim(_ c: Case) {
        let identity = OperatorIdentity(loginUID: c.loginUID, effectiveUID: c.effectiveUID, environment: c.environment,
                                        accounts: Self.accounts)
        #expect(identity.operatorAccount == c.expected.0)
        #expect(identity.claimedOperator == c.expected.1)
        #expect(identity.runAs == c.expected.2)
    }

    @Test(arguments: [
        ("1001", 1001 as uid_t?), ("1001\n", 1001), ("0", 0), ("4294967295", OperatorIdentity.unsetLoginUID),
        ("", nil), ("\n", nil), ("-1", nil), ("12a", nil), (" 12", nil), ("+12", nil), ("4294967296", nil), ("١٢", nil),
    ])
    func theLoginUIDIsReadFromTheProcText(_ text: String, _ expected: uid_t?) {
        #expect(OperatorIdentity.loginUID(procText: text) == expected)
    }

    @Test func theAuditDetailsNameTheCommandAndEveryoneInvolved() {
        let claimed = OperatorIdentity(loginUID: 1002, effectiveUID: 998, environment: ["SUDO_USER": "alice"], accounts: Self.accounts)
        #expect(claimed.auditDetails(command: "grants revoke").map { "\($0.0)=\($0.1)" } == [
            "command=grants revoke", "via=cli", "operator=bob", "claimed_operator=alice", "run_as=devicegate"])
        let plain = OperatorIdentity(loginUID: nil, effectiveUID: 998, environment: [:], accounts: Self.accounts)
        #expect(plain.auditDetails(command: "deny").map { "\($0.0)=\($0.1)" } == [
            "command=deny", "via=cli", "operator=devicegate", "run_as=devicegate"])
    }
}
