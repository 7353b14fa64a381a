#!/usr/bin/env bash
# Builds and runs every ```swift block of README.md as written, each as an executable of a
# package that depends on this checkout; runs README's shell example with the built command;
# runs its Python install line and every ```python block with that environment's Python; and
# saves its ```c block as example.c and runs the build lines README gives for it.
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
# The first indented block after the README line that starts with the argument.
indented_after() {
    python3 - "$repo/README.md" "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith(sys.argv[2]))
while not lines[start].startswith("    "): start += 1
block = []
for l in lines[start:]:
    if not l.startswith("    "): break
    block.append(l[4:])
print("set -e\n" + "\n".join(block))
PY
}
# Python: the install line, as written, at the top of the checkout; then every python block.
cd "$repo"
indented_after "Install it into a virtual environment" > "$work/install.sh"
echo "README Python install:"
bash "$work/install.sh" 2>&1 | tail -2
np=$(python3 - "$repo/README.md" "$work" <<'PY'
import re, sys
blocks = re.findall(r"```python\n(.*?)```", open(sys.argv[1]).read(), re.S)
for i, b in enumerate(blocks, 1):
    open(f"{sys.argv[2]}/snippet{i}.py", "w").write(b)
print(len(blocks))
PY
)
indented_after "retried. Shards need the Ray extra" > "$work/install-ray.sh"
echo "README Ray extra install:"
bash "$work/install-ray.sh" 2>&1 | tail -1
for i in $(seq 1 "$np"); do
  echo "README python block $i:"
  "$repo/.venv/bin/python" "$work/snippet$i.py" | tail -3
done
# C: the block saved as example.c at the top of the checkout, built and run as README says.
python3 - "$repo/README.md" > "$repo/example.c" <<'PY'
import re, sys
print(re.findall(r"```c\n(.*?)```", open(sys.argv[1]).read(), re.S)[0], end="")
PY
indented_after "Saved as \`example.c\`" > "$work/c.sh"
echo "README C example:"
bash "$work/c.sh"
rm -f "$repo/example.c" "$repo/example"
echo "README blocks: ok ($n swift blocks, the shell example, $np python blocks, the C example)"
