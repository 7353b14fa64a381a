// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "hashidx",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "HashIdx", targets: ["HashIdx"]),
        .library(name: "Hamming", targets: ["Hamming"]),
        .library(name: "HashData", targets: ["HashData"]),
        .library(name: "HashEncoders", targets: ["HashEncoders"]),
        .library(name: "HashIdxVectors", targets: ["HashIdxVectors"]),
        .library(name: "HashEval", targets: ["HashEval"]),
        .executable(name: "hashidx", targets: ["HashIdxCommand"]),
        // The C API (include/hashidx.h): build it with tools/build-capi.sh, which links the Swift
        // runtime in and exports hashidx_* only.
        .library(name: "hashidx_c", type: .dynamic, targets: ["HashIdxC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation --target HashIdx` (the DocC catalog in Sources/HashIdx).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // Distance kernels in C, one per instruction set, chosen at run time: no build flags.
        .target(name: "CHammingKernels"),
        // The command's SIGBUS/SIGSEGV handler for faults inside an index map (a damaged file).
        .target(name: "CFaultGuard"),
        .target(name: "Hamming", dependencies: ["CHammingKernels"]),
        .target(name: "HashIdx", dependencies: ["LMDB", "Hamming", "CHammingKernels", "CZlib"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLinearAlgebra", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .target(name: "HashData", dependencies: ["Hamming", "CZlib"]),
        // Encoders and their training: codes and linear algebra only, no index and no files.
        .target(name: "HashEncoders", dependencies: ["Hamming", "CLinearAlgebra"]),
        // The glue: an index that stores its encoder and takes vectors; encoder files.
        .target(name: "HashIdxVectors", dependencies: ["HashIdx", "HashEncoders", "HashData", "Hamming", "HashEval"]),
        .target(name: "HashEval", dependencies: ["Hamming", "HashIdx"]),
        .target(name: "HashIdxC", dependencies: ["HashIdx", "HashIdxVectors", "HashEncoders", "HashEval", "HashData", "Hamming"]),
        .executableTarget(
            name: "HashIdxCommand",
            dependencies: ["HashIdx", "Hamming", "HashData", "HashEncoders", "HashIdxVectors", "HashEval", "CFaultGuard", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "HashIdxTests",
            dependencies: ["HashIdx", "Hamming", "HashData", "HashEncoders", "HashIdxVectors", "HashEval", "LMDB", "HashIdxCommand"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
