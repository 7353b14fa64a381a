#!/usr/bin/env bash
# Proves that another package can depend on hashidx by version: clones this repository into a
# temporary directory, tags the clone, and builds and runs a small client package that names it
# with `from:` on a file:// URL. SwiftPM refuses such a dependency if any target of hashidx uses
# unsafe build flags.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/hashidx"
git -C "$work/hashidx" -c user.name=ci -c user.email=ci@localhost tag -a 99.0.0 -m "versioned-dependency check"
mkdir -p "$work/client/Sources/client"
cat > "$work/client/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "client",
    dependencies: [.package(url: "file://$work/hashidx", from: "99.0.0")],
    targets: [
        .executableTarget(name: "client", dependencies: [
            .product(name: "HashIdx", package: "hashidx"),
            .product(name: "Hamming", package: "hashidx"),
        ]),
    ]
)
SWIFT
cat > "$work/client/Sources/client/main.swift" <<'SWIFT'
import Foundation
import Hamming
import HashIdx

let dir = CommandLine.arguments[1]
let index = try HashIndex.create(at: dir, .init(bits: 64, expectedCount: 1000))
var codes: [(id: UInt64, code: BinaryCode)] = []
var state: UInt64 = 42
for id in 0..<1000 as Range<UInt64> {
    var bytes: [UInt8] = []
    for _ in 0..<8 { state = state &* 6364136223846793005 &+ 1442695040888963407; bytes.append(UInt8(state >> 56)) }
    codes.append((id, try BinaryCode(bytes: bytes, bits: 64)))
}
try index.insert(codes)
let query = codes[17].code
let hits = try index.search(query, radius: 8).neighbors
let expected = codes.filter { $0.code.distance(to: query) <= 8 }.count
guard hits.first?.id == 17, hits.count == expected else {
    print("wrong answer: \(hits), expected \(expected) hits starting with id 17"); exit(1)
}
print("client: \(hits.count) hits within radius 8, kernel \(InstructionSet.best)")
SWIFT
cd "$work/client"
swift build 2>&1 | tail -3
"$(swift build --show-bin-path)/client" "$work/index"
echo "versioned dependency: ok"
