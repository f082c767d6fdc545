import DeviceFlow
import Testing

/// What the consent page and "Your devices" may show of the device that asked: its address and
/// its HTTP client product, both cut down to something that cannot carry markup or spoof a
/// sentence (issue 14, item 2).
struct DeviceRequesterTests {
    @Test(arguments: [
        ("curl/8.5.0", "curl/8.5.0"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "Mozilla/5.0"),
        ("python-requests/2.31.0", "python-requests/2.31.0"),
        ("  oidc-agent/5.1", "oidc-agent/5.1"),
        ("Roku", "Roku"),
        ("devicegate-login/1 extra words", "devicegate-login/1"),
        ("name/", "name"),
        ("<script>alert(1)</script>", nil),
        ("\"><img src=x onerror=alert(1)>", nil),
        ("evil\"/1", "evil"),
        ("tv<b>/1", "tv"),
        ("Ünïcode/1", nil),
        ("", nil),
        ("/1.0", nil),
    ] as [(String, String?)])
    func theProductIsTheFirstTokenAndVersion(userAgent: String, shown: String?) {
        #expect(UserAgentProduct.shorten(userAgent) == shown)
    }

    @Test func aLongProductIsCutToItsMaximum() {
        let shown = UserAgentProduct.shorten(String(repeating: "a", count: 500) + "/1")
        #expect(shown?.utf8.count == UserAgentProduct.maximumBytes)
    }

    @Test(arguments: [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("unix:", "unix:"),
        ("192.0.2.7\"><b>", "192.0.2.7b"),
        (String(repeating: "1", count: 46), ""),
    ])
    func theAddressKeepsOnlyAddressCharacters(address: String, kept: String) {
        #expect(DeviceRequester(address: address, userAgent: nil).address == kept)
    }
}
