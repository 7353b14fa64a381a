#!/usr/bin/env bash
# Builds the C API, include/hashidx.h's library: .build/capi/release/libhashidx_c.so, in release
# mode, with the Swift runtime linked in (-static-stdlib: it loads where Swift is not installed)
# and only hashidx_* exported (include/hashidx.map), marked never to be unloaded (-z nodelete:
# the Swift runtime inside it keeps worker threads, which would run unmapped code after a host's
# dlclose — cffi closes its libraries when Python exits). All are command-line flags, so that
# Package.swift stays free of unsafe flags. Prints the library's path.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product hashidx_c --scratch-path .build/capi \
    -Xswiftc -static-stdlib -Xlinker --version-script="$PWD/include/hashidx.map" -Xlinker --strip-debug \
    -Xlinker -z -Xlinker nodelete >&2
lib="$PWD/.build/capi/release/libhashidx_c.so"
# Refuse a library that exports anything but the API.
leaked=$(readelf --dyn-syms -W "$lib" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {print $8}' | grep -v '^hashidx_' || true)
if [ -n "$leaked" ]; then
    echo "libhashidx_c.so exports symbols outside hashidx_*:" >&2
    echo "$leaked" | head -20 >&2
    exit 1
fi
# Refuse a library that a host's dlclose would unload (see above).
if ! readelf -d -W "$lib" | grep -q 'FLAGS_1.*NODELETE'; then
    echo "libhashidx_c.so is not marked NODELETE" >&2
    exit 1
fi
echo "$lib"
