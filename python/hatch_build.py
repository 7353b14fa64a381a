"""Builds the C API library (../tools/build-capi.sh: swift build -c release with the Swift runtime
linked in) and puts it inside the package, which makes the wheel platform-specific.

HASHIDX_LIBRARY=/path/to/libhashidx_c.so uses an already built library instead."""

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SwiftLibraryHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        package = Path(self.root) / "src" / "hashidx"
        given = os.environ.get("HASHIDX_LIBRARY")
        if given:
            library = Path(given)
        else:
            script = Path(self.root).parent / "tools" / "build-capi.sh"
            if not script.exists():
                raise RuntimeError(
                    f"cannot build the hashidx library: {script} is missing (build from a checkout of the "
                    "repository, or set HASHIDX_LIBRARY to a built libhashidx_c.so)")
            out = subprocess.run(["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True)
            library = Path(out.stdout.strip().splitlines()[-1])
        if not library.is_file():
            raise RuntimeError(f"the hashidx library was not found at {library}")
        shutil.copy2(library, package / "libhashidx_c.so")
        # The binding reads its declarations from the header: the contract and the binding are one text.
        shutil.copy2(Path(self.root).parent / "include" / "hashidx.h", package / "hashidx.h")
        # No CPython extension (ctypes): one wheel serves every Python 3 on this platform.
        build_data["pure_python"] = False
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"

    def finalize(self, version, build_data, artifact_path):
        # The copies served the wheel; the source tree keeps none.
        if self.target_name == "wheel":
            for name in ("libhashidx_c.so", "hashidx.h"):
                (Path(self.root) / "src" / "hashidx" / name).unlink(missing_ok=True)
