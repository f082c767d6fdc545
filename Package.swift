// swift-tools-version:6.0
import PackageDescription

// deploy/fuzz.sh builds DeviceGateFuzz with DEVICEGATE_FUZZ=1: that target and the modules it
// exercises are then compiled with libFuzzer's coverage instrumentation and linked against
// libFuzzer (-sanitize=fuzzer). Ordinary builds never see the flag.
let fuzzing = Context.environment["DEVICEGATE_FUZZ"] == "1"
let fuzzed: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"])] : []

// Release links use lld with packed relative relocations (DT_RELR, read by glibc 2.36 and later:
// Debian 12). With --static-swift-stdlib, as deploy/lib/common.sh builds the release binary, the
// Swift runtime and Foundation are in the binary and their ~87,000 relative relocations then take
// 17 KB instead of 2 MB that every worker reads at start: about 3.5 MB less RSS per worker
// (docs/benchmarks.md, "Worker memory"). Debug builds and the tests link as before.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(configuration: .release)),
]

let package = Package(
    name: "devicegate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "devicegate", targets: ["devicegate"]),
        // The device-side login tool (docs/login-tool.md): no libfcgi, no server module.
        .executable(name: "devicegate-login", targets: ["devicegate-login"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // The only code that sees libfcgi.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        // libxcrypt's crypt_rn/crypt_gensalt_rn: verifies htpasswd -B (bcrypt) and yescrypt hashes.
        .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        // libpq (Debian's libpq-dev): the only code that sees it is PostgresStorage.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Async-signal-safe flags and prctl: things Swift cannot express directly.
        .target(name: "CSupport"),
        // RFC 8628 / RFC 6749 logic with no I/O: codes, records, decisions, errors.
        .target(name: "DeviceFlow", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: fuzzed),
        // The YAML configuration file, environment overrides and validation.
        .target(name: "DeviceGateConfig", dependencies: ["DeviceFlow", "Yams"], swiftSettings: fuzzed),
        // This host's own files: every syscall (Sys, with fault injection), atomic writes, the
        // mmap-ed counter pages behind the metrics and the audit log. Per host on every backend.
        .target(name: "HostFiles", dependencies: ["DeviceFlow", "CSupport"], swiftSettings: fuzzed),
        // The storage contract on the flock-ed state directory (`storage.backend: directory`).
        .target(name: "DirectoryStorage", dependencies: ["DeviceFlow", "HostFiles", "CSupport"], swiftSettings: fuzzed),
        // The storage contract on PostgreSQL (`storage.backend: postgresql`), for several hosts.
        .target(name: "PostgresStorage", dependencies: ["DeviceFlow", "CLibPQ"], swiftSettings: fuzzed),
        // The operator's view: audit events, counters for the metrics, logs.
        .target(name: "Observability", dependencies: [
            "DeviceFlow", "HostFiles", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fuzzed),
        // Signing keys, JWTs (RFC 7515/7519/9068), id_tokens, access-token validation.
        .target(name: "TokenSigning", dependencies: [
            "DeviceFlow",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ], swiftSettings: fuzzed),
        // Transport-neutral request -> response: routing, forms, JSON, the OAuth endpoints.
        // Plain HTTP request and response values: what the FastCGI edge and the endpoints share.
        .target(name: "HTTPMessages", swiftSettings: fuzzed),
        .target(name: "DeviceGateHTTP", dependencies: [
            "HTTPMessages", "DeviceFlow", "DeviceGateConfig", "HostFiles", "TokenSigning", "Observability",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fuzzed),
        // The verification page (RFC 8628 §3.3): code entry, sign-in, consent, sessions, limits.
        .target(name: "DeviceGateWeb", dependencies: [
            "DeviceFlow", "DeviceGateConfig", "DeviceGateHTTP", "Observability", "CCrypt",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fuzzed),
        // The application wired once from configuration and storage: the worker, the tests and the fuzzer all use it.
        .target(name: "DeviceGateAssembly", dependencies: [
            "DeviceFlow", "DeviceGateConfig", "DirectoryStorage", "PostgresStorage", "HostFiles", "TokenSigning", "Observability", "DeviceGateHTTP", "DeviceGateWeb",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fuzzed),
        // The libfcgi accept loop and the worker supervisor; knows nothing about OAuth.
        .target(name: "FastCGIServer", dependencies: [
            "CFastCGI", "CSupport", "HTTPMessages",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fuzzed),
        .executableTarget(name: "devicegate", dependencies: [
            "DeviceFlow", "DeviceGateConfig", "DirectoryStorage", "PostgresStorage", "HostFiles", "DeviceGateHTTP", "DeviceGateWeb", "DeviceGateAssembly", "FastCGIServer", "TokenSigning", "Observability",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: releaseLinking),
        // devicegate-login: libqrencode draws the QR code, libcurl speaks HTTP(S) (URLSession on
        // Linux cannot take a private CA file); DeviceGateLogin is its pure logic (tested), the
        // executable the network, files and terminal.
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "DeviceGateLogin"),
        .executableTarget(name: "devicegate-login", dependencies: [
            "DeviceGateLogin", "CQRencode", "CCurl",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: releaseLinking),
        // Test support shared by the test targets: manual clock, temp dirs, the in-memory storage backend.
        .target(name: "DeviceGateTesting", dependencies: ["DeviceFlow", "PostgresStorage", "DeviceGateConfig", "DeviceGateHTTP", "DeviceGateAssembly", "Observability", "DirectoryStorage", "HostFiles", "TokenSigning"], path: "Tests/DeviceGateTesting",
                swiftSettings: fuzzed),
        // A child process for DirectoryStorageTests' multi-process race; not shipped.
        .executableTarget(name: "StoreRaceTool", dependencies: ["DeviceFlow", "DirectoryStorage"], path: "Tests/StoreRaceTool"),
        // Hostile-input properties (Tests/Fuzz): shared by the libFuzzer executable and FuzzTests.
        .target(name: "DeviceGateFuzzing", dependencies: [
            "DeviceFlow", "DeviceGateConfig", "DeviceGateHTTP", "DeviceGateWeb", "DeviceGateAssembly", "FastCGIServer", "DirectoryStorage", "HostFiles", "TokenSigning",
            "Observability", "DeviceGateTesting", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/Fuzz/DeviceGateFuzzing", swiftSettings: fuzzed),
        // libFuzzer's driver, declared for DeviceGateFuzz (the runtime comes with -sanitize=fuzzer).
        .systemLibrary(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"),
        // The fuzzer when built by deploy/fuzz.sh; otherwise it replays inputs from files.
        .executableTarget(name: "DeviceGateFuzz", dependencies: ["DeviceGateFuzzing", "CLibFuzzer"], path: "Tests/Fuzz/DeviceGateFuzz",
                          swiftSettings: fuzzed + (fuzzing ? [.define("FUZZING")] : []),
                          linkerSettings: fuzzing ? [.unsafeFlags(["-sanitize=fuzzer"])] : []),
        // Fills a state directory for deploy/bench/bench.sh --entries; a benchmark tool, not shipped.
        .executableTarget(name: "BenchPopulate", dependencies: [
            "DeviceFlow", "DirectoryStorage", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "deploy/bench/BenchPopulate"),
        .testTarget(name: "DeviceFlowTests", dependencies: ["DeviceFlow", "DeviceGateTesting"]),
        .testTarget(name: "DeviceGateConfigTests", dependencies: ["DeviceGateConfig", "DeviceGateTesting"]),
        .testTarget(name: "DirectoryStorageTests", dependencies: ["DirectoryStorage", "HostFiles", "DeviceFlow", "DeviceGateTesting", "StoreRaceTool"]),
        .testTarget(name: "DeviceGateHTTPTests", dependencies: ["DeviceGateHTTP", "DeviceGateAssembly", "DirectoryStorage", "DeviceGateTesting", "TokenSigning"]),
        .testTarget(name: "TokenSigningTests", dependencies: ["TokenSigning", "DeviceGateTesting"]),
        .testTarget(name: "ObservabilityTests", dependencies: ["Observability", "DirectoryStorage", "HostFiles", "DeviceFlow", "DeviceGateTesting"]),
        .testTarget(name: "DeviceGateWebTests", dependencies: ["DeviceGateWeb", "DeviceGateHTTP", "DeviceGateAssembly", "DirectoryStorage", "DeviceGateTesting", "Observability", "TokenSigning"]),
        .testTarget(name: "FastCGIServerTests", dependencies: ["FastCGIServer", "DeviceGateTesting"]),
        // The storage contract's promises, run against every backend (file and memory).
        .testTarget(name: "StorageConformanceTests", dependencies: ["DeviceFlow", "DirectoryStorage", "PostgresStorage", "DeviceGateTesting"]),
        .testTarget(name: "PostgresStorageTests", dependencies: ["PostgresStorage", "DeviceFlow", "DeviceGateTesting"]),
        .testTarget(name: "DeviceGateLoginTests", dependencies: ["DeviceGateLogin"]),
        // The devicegate command's own decisions (who ran an operator command).
        .testTarget(name: "DeviceGateCommandTests", dependencies: ["devicegate"]),
        .testTarget(name: "FuzzTests", dependencies: ["DeviceGateFuzzing", "DeviceFlow", "DeviceGateHTTP", "DeviceGateTesting", "FastCGIServer"]),
    ]
)
