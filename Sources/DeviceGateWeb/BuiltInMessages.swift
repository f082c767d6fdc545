/// The languages the pages ship with, one message file each (`Messages+<tag>.swift`, in the
/// `MessageFile` format; `devicegate templates --output DIR` writes them out as
/// `<tag>.messages`). English is the reference every other language is checked against.
public enum BuiltInMessages {
    public static let all: [(tag: String, text: String)] = [
        ("en", en),
        ("de", de),
        ("fr", fr),
        ("es", es),
        ("nl", nl),
        ("ja", ja),
        ("ar", ar),
    ]
}
