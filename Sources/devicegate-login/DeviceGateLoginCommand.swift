import ArgumentParser
import DeviceGateLogin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `devicegate-login`: the device side of RFC 8628 against any issuer with discovery.
@main
struct DeviceGateLoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devicegate-login",
        abstract: "Sign a device in with the OAuth 2.0 device flow (RFC 8628) and print its tokens.",
        discussion: """
            Reads {issuer}/.well-known/openid-configuration, starts a device flow, shows the code, \
            the address and a QR code of verification_uri_complete on stderr, polls the token \
            endpoint (honouring interval and slow_down) and prints the token response as JSON on \
            stdout, or writes it to --token-file (mode 0600). With --refresh, uses the refresh \
            token in --token-file, rewrites the file and prints only the new access token.

            The terminal QR code and the countdown are drawn only when stderr is a terminal; \
            --qr svg FILE writes an SVG of the same QR code as well.

            \(LoginFailure.statusTable)
            """)

    @Option(help: "The issuer URL, exactly as the server's discovery document names it.")
    var issuer: String

    @Option(name: .customLong("client-id"), help: "The client_id.")
    var clientID: String

    @Option(help: "The scope to ask for (space-separated).")
    var scope: String?

    @Option(name: .customLong("client-secret-file"),
            help: "A file (mode 0600) holding the client secret, sent with HTTP Basic. Never on the command line.")
    var clientSecretFile: String?

    @Option(name: .customLong("token-file"), help: "Write the token response here (mode 0600) instead of stdout; read by --refresh.")
    var tokenFile: String?

    @Option(name: .customLong("qr"), parsing: .upToNextOption, help: ArgumentHelp("Also write the QR code as an SVG: --qr svg FILE.", valueName: "svg FILE"))
    var qr: [String] = []

    @Option(name: .customLong("ca-file"), help: "PEM file of the CA(s) to trust for https instead of the system's.")
    var caFile: String?

    @Flag(help: "Refresh: use the refresh token in --token-file, rewrite the file, print the new access token.")
    var refresh = false

    func validate() throws {
        let scheme = issuer.lowercased()
        if !(scheme.hasPrefix("https://") || scheme.hasPrefix("http://")) || issuer.count <= 8 {
            throw ValidationError("--issuer must be an https (or http) URL, such as https://id.example/application/o/devicegate/")
        }
        if !qr.isEmpty && (qr.count != 2 || qr[0] != "svg" || qr[1].isEmpty) {
            throw ValidationError("--qr takes two values: svg FILE")
        }
        if refresh && tokenFile == nil { throw ValidationError("--refresh needs --token-file") }
        if refresh && !qr.isEmpty { throw ValidationError("--refresh shows no QR code: drop --qr") }
    }

    func run() throws {
        do {
            let login = Login(issuer: issuer, clientID: clientID, scope: scope, tokenFile: tokenFile,
                              svgFile: qr.count == 2 ? qr[1] : nil, http: CurlClient(caFile: caFile),
                              secret: try clientSecretFile.map(Self.secret(from:)))
            if refresh { try login.refresh() } else { try login.signIn() }
        } catch {
            StandardStream.error.write("devicegate-login: \(error.message)\n")
            throw ExitCode(error.status)
        }
    }

    /// The secret: the file's first line, without its line ending.
    static func secret(from path: String) throws(LoginFailure) -> String {
        let data = try PrivateFile.read(path, what: "client secret file", failure: LoginFailure.localFile)
        let text = String(decoding: data, as: UTF8.self)
        let secret = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map {
            String($0.hasSuffix("\r") ? $0.dropLast() : $0)
        } ?? ""
        guard !secret.isEmpty else { throw .localFile("the client secret file \(path) is empty") }
        return secret
    }
}
