#if canImport(Glibc)
import Glibc
#endif
import CLibFuzzer
import DeviceGateFuzzing

/// The fuzzer. deploy/fuzz.sh builds it with DEVICEGATE_FUZZ=1, which makes Package.swift
/// compile it (and the modules it tests) with -sanitize=fuzzer and define FUZZING: it then
/// hands its command line to libFuzzer, fuzzing the target named by $DEVICEGATE_FUZZ_TARGET
/// (libFuzzer owns the arguments).
///
/// In an ordinary build the same program replays inputs instead, without libFuzzer:
///
///     DeviceGateFuzz TARGET FILE|DIRECTORY...
@main
enum DeviceGateFuzz {
    nonisolated(unsafe) static var target = FuzzTarget.form

    static func main() {
        #if FUZZING
        let name = getenv("DEVICEGATE_FUZZ_TARGET").flatMap { String(validatingCString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            printError("DeviceGateFuzz: set DEVICEGATE_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))")
            exit(2)
        }
        Self.target = target
        do { try target.prepare() } catch {
            printError("DeviceGateFuzz: \(error)")
            exit(1)
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
        #else
        replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    static func replay(_ arguments: [String]) {
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            printError("usage: DeviceGateFuzz TARGET FILE|DIRECTORY...\ntargets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))")
            exit(2)
        }
        var failures = 0, count = 0
        for path in arguments.dropFirst() {
            for file in InputFiles.list(path) {
                count += 1
                guard let bytes = InputFiles.read(file) else {
                    printError("\(file): cannot read")
                    failures += 1
                    continue
                }
                do { try target.run(bytes) } catch {
                    printError("\(file): \(error)")
                    failures += 1
                }
            }
        }
        print("\(target.rawValue): \(count) inputs, \(failures) failed")
        exit(failures == 0 ? 0 : 1)
    }
}

/// One input, as libFuzzer calls it. Exported under libFuzzer's name too: its runtime refers to
/// it even though main() is ours.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try DeviceGateFuzz.target.run(bytes)
    } catch {
        printError("\n==== property violated (\(DeviceGateFuzz.target.rawValue)): \(error)")
        abort()
    }
    return 0
}

func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
