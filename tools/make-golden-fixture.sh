#!/usr/bin/env bash
# Rebuilds the golden index fixture of the current format version, which the tests open and
# query. Run only when the on-disk format changes (bump Format.version and FORMAT.md with it).
# Fixtures of older versions stay as their builds wrote them (golden-v1: commit b22e0cc;
# golden-v2: commit 5340073).
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=Tests/HashIdxTests/Fixtures
v=3
python3 - "$fixtures/golden-v$v.txt" "$fixtures/golden-v$v-later.txt" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(20261123)
centres = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
def code(i):
    c = centres[i % 8].copy()
    for b in rng.choice(64, size=rng.integers(0, 6), replace=False):
        c[b >> 3] ^= np.uint8(1 << (b & 7))
    return c.tobytes().hex()
first = [f"{1_000_000 + 13 * i} {code(i)}" for i in range(200)]
# Written after the merge: 40 new ids and new codes for 10 sealed ids.
later = [f"{1_000_000 + 13 * i} {code(i)}" for i in range(200, 240)] + [f"{1_000_000 + 13 * i} {code(i + 3)}" for i in range(0, 100, 10)]
open(sys.argv[1], "w").write("\n".join(first) + "\n")
open(sys.argv[2], "w").write("\n".join(later) + "\n")
PY
swift build --product hashidx
bin=.build/debug/hashidx
rm -rf "$fixtures/golden-v$v"
$bin create "$fixtures/golden-v$v" --bits 64 --substrings 3 --map-mib 1
$bin add "$fixtures/golden-v$v" "$fixtures/golden-v$v.txt" --batch-size 100
$bin compact "$fixtures/golden-v$v"
$bin add "$fixtures/golden-v$v" "$fixtures/golden-v$v-later.txt"
# Remove sealed and recent ids, so that the fixture has tombstones in both parts.
printf '%s\n' 1000000 1000013 1001547 1003107 | $bin remove "$fixtures/golden-v$v" -
$bin verify "$fixtures/golden-v$v"
$bin stat "$fixtures/golden-v$v"
rm -f "$fixtures/golden-v$v/lock.mdb"
