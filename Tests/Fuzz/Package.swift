// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets over Keylake's parsers of outside bytes. Kept out of the root package: each
// target is an executable without `main` (libFuzzer supplies it), which `swift build` of the
// root package could not link. Build and run with scripts/fuzz (debug configuration, so the
// root package's modules are compiled with -enable-testing and `@testable import` works).

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The root package, by path. Its identity is its directory's name, whatever the checkout is
/// called, so products are looked up under the name given here.
let keylake = "keylake"

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: swiftSettings)
}

let package = Package(
    name: "KeylakeFuzz",
    platforms: [.macOS(.v15)],
    products: [
        "FuzzFrames", "FuzzFHIRJSON", "FuzzKeyPolicy", "FuzzCiphertextBlob", "FuzzBundle", "FuzzSearch", "FuzzDaemonConfig",
    ].map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: keylake, path: "../.."),
        // The same packages (and, through Package.resolved, the same versions) as the root package.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: swiftSettings),
        fuzzTarget("FuzzFrames", [
            .product(name: "KeylakeTransport", package: keylake),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        fuzzTarget("FuzzFHIRJSON", [.product(name: "DataStore", package: keylake)]),
        fuzzTarget("FuzzKeyPolicy", [.product(name: "KMS", package: keylake)]),
        fuzzTarget("FuzzCiphertextBlob", [
            .product(name: "KMS", package: keylake),
            .product(name: "DataStore", package: keylake),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        fuzzTarget("FuzzBundle", [
            .product(name: "DataStore", package: keylake),
            .product(name: "DataServer", package: keylake),
        ]),
        fuzzTarget("FuzzSearch", [.product(name: "DataStore", package: keylake)]),
        fuzzTarget("FuzzDaemonConfig", [
            .product(name: "KeylakeRPC", package: keylake),
            .product(name: "KeylakeTransport", package: keylake),
            .product(name: "KMS", package: keylake),
            .product(name: "KMSServer", package: keylake),
            .product(name: "DataServer", package: keylake),
        ]),
    ]
)
