// swift-tools-version:5.9
// Andal for Swift (iOS, macOS): generated UniFFI bindings over the Rust core.
//
// The native library is a binary target, so this package works as a dependency (SwiftPM
// refuses `unsafeFlags` in dependencies):
// - Release: set `releaseURL` and `releaseChecksum` below to the published
//   `AndalFFI.xcframework.zip` (`swift package compute-checksum AndalFFI.xcframework.zip`);
//   apps then add this package by URL and version like any other.
// - From a checkout: run `./build-xcframework.sh` (macOS, Xcode) once; the manifest uses
//   `AndalFFI.xcframework` next to it.
// - Local development of the bindings only (never in a dependency): `ANDAL_LIB_DIR=<dir of
//   libandal_uniffi>` links a cargo build directly; that path needs `unsafeFlags`.
import Foundation
import PackageDescription

/// The published XCFramework of a release (empty between releases).
let releaseURL = ""
let releaseChecksum = ""

let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let localLibDir = ProcessInfo.processInfo.environment["ANDAL_LIB_DIR"]

let ffiTarget: Target
if let libDir = localLibDir {
    ffiTarget = .target(
        name: "AndalFFI",
        path: "Sources/AndalFFI",
        linkerSettings: [
            .linkedLibrary("andal_uniffi"),
            .unsafeFlags(["-L", libDir]),
        ]
    )
} else if !releaseURL.isEmpty {
    ffiTarget = .binaryTarget(name: "AndalFFI", url: releaseURL, checksum: releaseChecksum)
} else {
    // SwiftPM reports a missing AndalFFI.xcframework by name: run ./build-xcframework.sh.
    ffiTarget = .binaryTarget(name: "AndalFFI", path: "AndalFFI.xcframework")
}

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
