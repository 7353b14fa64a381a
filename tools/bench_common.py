"""What the benchmark scripts share: the CPU line they print, best-of-N timing, and appending
their JSON rows to a file."""

import json
import os
import time


def cpu_line():
    """The CPU model, core count and the instruction-set flags the kernels care about."""
    model, flags = "?", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and model == "?":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    wanted = [f for f in ("popcnt", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq") if f in flags]
    return f"{model}, {os.cpu_count()} cores, flags: {' '.join(wanted)}"


def timed(call):
    """(call(), its wall time in seconds)."""
    t = time.perf_counter()
    out = call()
    return out, time.perf_counter() - t


def best_of(times, run):
    """Runs `run` (returning (result, seconds)) `times` times; returns the run with the least seconds."""
    best = None
    for _ in range(times):
        result, secs = run()
        if best is None or secs < best[1]:
            best = (result, secs)
    return best


def best(times, call):
    """The result and wall time of the fastest of `times` runs of `call`."""
    return best_of(times, lambda: timed(call))


def append_rows(path, rows):
    """Appends `rows` to `path` as JSON lines (nothing without a path)."""
    if path:
        with open(path, "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
