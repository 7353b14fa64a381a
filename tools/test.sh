#!/usr/bin/env bash
# Runs every test: `swift test`; the C API's test program; the Python package's pytest, and its
# repaired wheel where Swift and the system libraries are hidden; the C test of the distance
# kernels built with the system's C compiler (every instruction set this CPU has, and
# HASHIDX_ISA's override) and, when an aarch64 cross compiler and qemu-user are installed
# (tools/setup.sh installs them), the same C test cross-compiled for aarch64 and run under qemu
# (the NEON kernels). Ends with one line, "N passed, N failed", counting each Swift test, each
# pytest test and each C or wheel run; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

swift test 2>&1 | tee "$work/swift.log"
status=${PIPESTATUS[0]}
passed=$(grep -oE "Test run with [0-9]+ tests? in [0-9]+ suites? passed" "$work/swift.log" | grep -oE "[0-9]+" | head -1)
failed=0
if [ "$status" -ne 0 ] || [ -z "$passed" ]; then
    # One line per test (or parameterised test) that ran to the end, not per recorded issue.
    passed=$(grep -E "^✔ Test .* passed after" "$work/swift.log" | grep -vc "^✔ Test run with")
    failed=$(grep -E "^✘ Test .* failed after" "$work/swift.log" | grep -vc "^✘ Test run with")
    [ "$failed" -gt 0 ] || failed=1
fi

# One C test run: its name, then the command. Counts one test, passed if it exits 0.
run_c() {
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
sources=(Sources/CHammingKernels/kernels.c Tests/CKernelTests/kernels_test.c)
if cc -O2 -Wall -Werror -I Sources/CHammingKernels/include -o "$work/kernels_test" "${sources[@]}"; then
    run_c "C kernels, native" "$work/kernels_test"
    run_c "C kernels, native, HASHIDX_ISA=avx2" env HASHIDX_ISA=avx2 "$work/kernels_test"
    run_c "C kernels, native, HASHIDX_ISA=portable" env HASHIDX_ISA=portable "$work/kernels_test"
else
    failed=$((failed + 1)); echo "FAILED: the C kernel test does not compile"
fi
# The C API: the library as tools/build-capi.sh builds it (exports checked there), and a C
# program that calls every function of include/hashidx.h against a brute-force oracle.
if lib=$(bash tools/build-capi.sh); then
    libdir=$(dirname "$lib")
    if cc -std=c99 -O1 -Wall -Werror -I include -o "$work/capi_test" Tests/CAPITests/capi_test.c \
          -L "$libdir" -lhashidx_c -lpthread -lm -Wl,-rpath,"$libdir"; then
        run_c "C API" "$work/capi_test"
    else
        failed=$((failed + 1)); echo "FAILED: the C API test does not compile"
    fi
else
    failed=$((failed + 1)); echo "FAILED: the C API library does not build"
fi
# The Python package with its Ray extra: installed with pip into a fresh virtual environment
# (which builds the C API library through the package's build hook), then pytest (the sharded
# index's tests start one local Ray instance); each pytest test counts once.
# Then the repaired wheel, installed where Swift and the system libraries are hidden.
echo "== Python package"
if python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q "./python[ray]" pytest hypothesis; then
    # faiss is a second oracle where pip can install it; the tests that need it skip otherwise.
    "$work/venv/bin/pip" install -q faiss-cpu 2>/dev/null || echo "(faiss-cpu not installed: its cross-checks skip)"
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -p no:warnings python/tests 2>&1 | tee "$work/pytest.log"
    py_status=${PIPESTATUS[0]}
    py_passed=$(grep -oE "[0-9]+ passed" "$work/pytest.log" | tail -1 | awk '{s += $1} END {print s + 0}')
    py_failed=$(grep -oE "[0-9]+ (failed|errors?)" "$work/pytest.log" | awk '{s += $1} END {print s + 0}')
    if [ "$py_status" -ne 0 ] && [ "$py_failed" -eq 0 ]; then py_failed=1; fi
    passed=$((passed + py_passed)); failed=$((failed + py_failed))
else
    failed=$((failed + 1)); echo "FAILED: the Python package does not install"
fi
run_c "Python wheel, repaired, without Swift or system libraries" bash tools/wheel-check.sh
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
    if aarch64-linux-gnu-gcc -O2 -Wall -Werror -static -I Sources/CHammingKernels/include -o "$work/kernels_test_arm" "${sources[@]}"; then
        run_c "C kernels, aarch64 under qemu-user" qemu-aarch64 "$work/kernels_test_arm"
    else
        failed=$((failed + 1)); echo "FAILED: the C kernel test does not cross-compile for aarch64"
    fi
else
    echo "== C kernels, aarch64: skipped (no aarch64-linux-gnu-gcc or qemu-aarch64; tools/setup.sh installs them)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
