#!/usr/bin/env bash
# Rebuilds the golden index fixture that the tests open and query. Run only when the on-disk
# format changes (and bump Format.version, FORMAT.md and the fixture name together).
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=Tests/HashIdxTests/Fixtures
python3 - "$fixtures/golden-v1.txt" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(20261123)
centres = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
lines = []
for i in range(240):
    code = centres[i % 8].copy()
    for b in rng.choice(64, size=rng.integers(0, 6), replace=False):
        code[b >> 3] ^= np.uint8(1 << (b & 7))
    lines.append(f"{1_000_000 + 13 * i} {code.tobytes().hex()}")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
swift build --product hashidx
rm -rf "$fixtures/golden-v1"
.build/debug/hashidx create "$fixtures/golden-v1" --bits 64 --substrings 3 --map-mib 1
.build/debug/hashidx add "$fixtures/golden-v1" "$fixtures/golden-v1.txt" --batch-size 100
# Remove some ids so that the fixture also covers moved rows.
printf '%s\n' 1000000 1000013 1001547 | .build/debug/hashidx remove "$fixtures/golden-v1" -
.build/debug/hashidx verify "$fixtures/golden-v1"
.build/debug/hashidx stat "$fixtures/golden-v1"
rm -f "$fixtures/golden-v1/lock.mdb"
