#!/usr/bin/env bash
# Builds and runs every ```swift block of README.md as written, each as an executable of a
# package that depends on this checkout, and runs README's shell example with the built command.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/snippets/Sources"
# A path dependency's identity is its directory's name: give the checkout the package's name.
ln -s "$repo" "$work/hashidx"
n=$(python3 - "$repo/README.md" "$work/snippets/Sources" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```swift\n(.*?)```", text, re.S)
for i, b in enumerate(blocks, 1):
    os.makedirs(f"{sys.argv[2]}/snippet{i}", exist_ok=True)
    open(f"{sys.argv[2]}/snippet{i}/main.swift", "w").write(b)
print(len(blocks))
PY
)
targets=""
for i in $(seq 1 "$n"); do
  targets="$targets .executableTarget(name: \"snippet$i\", dependencies: [.product(name: \"HashIdx\", package: \"hashidx\"), .product(name: \"Hamming\", package: \"hashidx\"), .product(name: \"HashData\", package: \"hashidx\"), .product(name: \"HashEncoders\", package: \"hashidx\"), .product(name: \"HashIdxVectors\", package: \"hashidx\")]),"
done
cat > "$work/snippets/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "snippets",
    dependencies: [.package(path: "$work/hashidx")],
    targets: [$targets]
)
SWIFT
cd "$work/snippets"
swift build 2>&1 | tail -2
for i in $(seq 1 "$n"); do
  echo "README swift block $i:"
  "$(swift build --show-bin-path)/snippet$i" | tail -3
done
# The shell example under "Example:", with the command built from this checkout.
bin="$(cd "$repo" && swift build --show-bin-path)"
export PATH="$bin:$PATH"
rm -rf /tmp/idx
python3 - "$repo/README.md" > "$work/example.sh" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
start = lines.index("Example:") + 2
block = []
for l in lines[start:]:
    if not l.startswith("    "): break
    block.append(l[4:])
print("set -e\n" + "\n".join(block))
PY
echo "README shell example:"
bash "$work/example.sh"
rm -rf /tmp/idx
echo "README blocks: ok ($n swift blocks and the shell example)"
