import DeviceGateWeb
import Testing

/// The users file and libxcrypt: what `htpasswd -B` and `mkpasswd` write must verify.
struct PasswordHashingTests {
    @Test(arguments: [
        (KnownHashes.htpasswdBcrypt, "bcrypt pw"), (KnownHashes.mkpasswdYescrypt, "yescrypt pw"), (KnownHashes.mkpasswdBcrypt, "mk bcrypt"),
    ])
    func toolHashesVerify(_ hash: String, _ password: String) {
        #expect(PasswordHashing.verify(password, hash: hash))
        #expect(!PasswordHashing.verify(password + "x", hash: hash))
        #expect(!PasswordHashing.verify("", hash: hash))
    }

    @Test(arguments: PasswordHashing.Method.allCases)
    func freshHashesVerifyAndAreSalted(_ method: PasswordHashing.Method) throws {
        let a = try #require(PasswordHashing.hash("pw", method: method))
        let b = try #require(PasswordHashing.hash("pw", method: method))
        #expect(a != b)
        #expect(a.hasPrefix(method == .yescrypt ? "$y$" : "$2b$"))
        #expect(PasswordHashing.verify("pw", hash: a))
        #expect(!PasswordHashing.verify("pW", hash: a))
    }

    @Test(arguments: ["$1$saltsalt$abcdefghijklmnopqrstuv", "$6$salt$x", "plaintext", "", "*", "$apr1$abc$def"])
    func weakOrUnknownHashesNeverMatch(_ hash: String) {
        #expect(!PasswordHashing.verify("plaintext", hash: hash))
        #expect(!PasswordHashing.verify("", hash: hash))
    }

    @Test func usersFileParsesRendersAndUpdates() {
        let parsed = UsersFile.parse("# comment\n\nalice:$y$abc\r\nbroken line\nbad name:$y$x\nbob:$2y$05$x\n")
        #expect(parsed.file.entries.map(\.name) == ["alice", "bob"])
        #expect(parsed.file.hash(for: "alice") == "$y$abc")
        #expect(parsed.badLines == [4, 5])
        var file = parsed.file
        file.set("alice", hash: "$y$new")
        file.set("carol", hash: "$y$c")
        #expect(file.rendered() == "alice:$y$new\nbob:$2y$05$x\ncarol:$y$c\n")
    }
}
