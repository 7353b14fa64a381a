#!/usr/bin/env bash
# Fault injection: runs `hashidx add`, `remove` and `compact` under strace, failing the N-th call
# of each file-system system call with an error, and checks that no run dies by a signal, that
# a failed run leaves what the index holds (every id and its distance to two fixed codes, from a
# full scan) as it was, and that the index verifies afterwards. Needs strace and a built hashidx.
#
#   bash tools/faults.sh [HASHIDX] [MAX_N]      # defaults: .build/debug/hashidx, 12
set -uo pipefail
bin=$(realpath "${1:-.build/debug/hashidx}")
max=${2:-12}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 - <<'PY'
import random
random.seed(5)
with open("codes.txt", "w") as f:
    for i in range(20000):
        f.write(f"{i} {random.getrandbits(64):016x}\n")
with open("more.txt", "w") as f:
    for i in range(20000, 26000):
        f.write(f"{i} {random.getrandbits(64):016x}\n")
with open("victims.txt", "w") as f:
    f.write("\n".join(str(i) for i in range(0, 20000, 3)) + "\n")
PY
"$bin" create pristine --bits 64 >/dev/null 2>&1
"$bin" add pristine codes.txt >/dev/null 2>&1
# What an index holds: ids and distances to two fixed codes, from a full scan.
content() {
  { "$bin" search "$1" --radius 64 --query 0000000000000000 --path scan
    "$bin" search "$1" --radius 64 --query 5555aaaa5555aaaa --path scan; } 2>/dev/null | grep -v '^#' | md5sum
}
runs=0 signals=0 failed=0 changed=0 unverified=0 succeeded=0
for cmd in "add idx more.txt" "remove idx victims.txt" "compact idx"; do
  for call in pwrite64 pwritev write writev fdatasync fsync openat ftruncate fallocate; do
    for err in EIO ENOSPC; do
      for n in $(seq 1 "$max"); do
        rm -rf idx && cp -r pristine idx
        before=$(content idx)
        strace -f -o /dev/null -e trace="$call" -e inject="$call":error="$err":when="$n" "$bin" $cmd >/dev/null 2>err.txt
        status=$?
        runs=$((runs + 1))
        if [ $status -ge 128 ]; then
          signals=$((signals + 1)); echo "SIGNAL $status: $cmd with $call=$err at call $n: $(tail -c 300 err.txt)"
        elif [ $status -ne 0 ]; then
          failed=$((failed + 1))
          after=$(content idx)
          if [ "$before" != "$after" ]; then
            changed=$((changed + 1)); echo "CHANGED: failed $cmd with $call=$err at call $n: $(tail -c 200 err.txt)"
          fi
        else
          succeeded=$((succeeded + 1))
        fi
        if ! "$bin" verify idx >/dev/null 2>err.txt; then
          unverified=$((unverified + 1)); echo "UNVERIFIED after $cmd with $call=$err at call $n: $(tail -c 200 err.txt)"
        fi
      done
    done
  done
done
echo "fault injection: $runs runs, $succeeded succeeded (the fault hit a call whose failure is tolerated or none), $failed failed cleanly, $signals signals, $changed failed runs that changed the index, $unverified indexes that did not verify"
[ $signals -eq 0 ] && [ $changed -eq 0 ] && [ $unverified -eq 0 ]
