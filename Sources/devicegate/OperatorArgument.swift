import ArgumentParser
import DeviceFlow

/// The checks `validate()` makes on the arguments of the grant, flow and session commands, each
/// failing with a `ValidationError` that says what is expected (exit 64, with the usage).
enum OperatorArgument {
    /// A subject or client id: 1 to 255 bytes without control characters, as `approve --subject`.
    static func checkName(_ value: String?, option: String) throws {
        guard let value else { return }
        guard !value.isEmpty, value.utf8.count <= 255 else { throw ValidationError("\(option) must be 1 to 255 bytes") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("\(option) must not contain control characters")
        }
    }

    /// A grant id as `grants list` prints it: 64 lowercase hex digits.
    static func checkGrantID(_ value: String) throws {
        guard Encoding.isHex256(value) else {
            throw ValidationError("a grant id is 64 lowercase hex digits, as grants list prints it")
        }
    }
}
