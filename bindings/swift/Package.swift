// swift-tools-version:5.9
// Andal for Swift (iOS, macOS): generated UniFFI bindings over the Rust core.
//
// Two ways to get the native library:
// - Release / app builds: run `./build-xcframework.sh` (macOS) to produce
//   `AndalFFI.xcframework`; this manifest then uses it as a binary target.
// - Local development on macOS: `cargo build --release -p andal-uniffi` at the repository
//   root, then `swift build` / `swift test` here links `libandal_uniffi` from
//   `../../target/release` (or from `$ANDAL_LIB_DIR`).
import Foundation
import PackageDescription

let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let xcframework = "AndalFFI.xcframework"
let useXCFramework = FileManager.default.fileExists(atPath: "\(packageDir)/\(xcframework)")
let libDir = ProcessInfo.processInfo.environment["ANDAL_LIB_DIR"] ?? "\(packageDir)/../../target/release"

let ffiTarget: Target = useXCFramework
    ? .binaryTarget(name: "AndalFFI", path: xcframework)
    : .target(
        name: "AndalFFI",
        path: "Sources/AndalFFI",
        linkerSettings: [
            .linkedLibrary("andal_uniffi"),
            .unsafeFlags(["-L", libDir]),
        ]
    )

let package = Package(
    name: "Andal",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Andal", targets: ["Andal"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "Andal",
            dependencies: ["AndalFFI"],
            path: "Sources/Andal"
        ),
        .testTarget(
            name: "AndalTests",
            dependencies: ["Andal"],
            path: "Tests/AndalTests"
        ),
    ]
)
