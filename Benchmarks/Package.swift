// swift-tools-version: 6.0
// Micro-benchmarks of the engine's inner pieces (kernels, look-ups, scans, merges), kept out of
// the root package so that `swift test` never builds them. Side-by-side figures against faiss
// come from tools/bench_engine.py; these show where the time of one operation goes.
//
//     cd Benchmarks && swift run -c release EngineBenchmarks
import PackageDescription

let package = Package(
    name: "hashidx-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "hashidx", path: ".."),
        .package(url: "https://github.com/google/swift-benchmark", from: "0.1.2"),
    ],
    targets: [
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                .product(name: "HashIdx", package: "hashidx"),
                .product(name: "Hamming", package: "hashidx"),
                .product(name: "Benchmark", package: "swift-benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
