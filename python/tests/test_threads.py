"""Eight threads searching while one writes: every answer equals the oracle of some committed
state (each batch is one transaction, so a reader sees a whole batch or none of it)."""

import os
import subprocess
import sys
import threading

import numpy as np

import hashidx
from conftest import Oracle, random_codes


def test_searches_during_writes_see_committed_states(tmp_path):
    rng = np.random.default_rng(11)
    bits, batches, per_batch = 64, 12, 200
    data = [random_codes(rng, per_batch, bits, clustered=True) for _ in range(batches)]
    queries = random_codes(rng, 6, bits, clustered=True)
    # The oracle's answers in every state: after 0, 1, ..., batches batches.
    states, oracle = [], Oracle()
    for b in range(batches + 1):
        states.append(oracle.knn(queries, 5))
        if b < batches:
            oracle.add(np.arange(b * per_batch, (b + 1) * per_batch), data[b])
    index = hashidx.create(tmp_path / "t", bits=bits)
    failures, done = [], threading.Event()

    def search():
        seen = 0
        while not done.is_set() or seen == 0:
            D, I = index.search(queries, 5, threads=1)
            if not any(np.array_equal(D, s[0]) and np.array_equal(I, s[1]) for s in states):
                failures.append((D, I))
            seen += 1

    readers = [threading.Thread(target=search) for _ in range(8)]
    for t in readers:
        t.start()
    for b in range(batches):
        index.add(data[b], ids=np.arange(b * per_batch, (b + 1) * per_batch))
    done.set()
    for t in readers:
        t.join()
    assert not failures, f"{len(failures)} answers matched no committed state"
    D, I = index.search(queries, 5)
    np.testing.assert_array_equal(I, states[-1][1])
    index.close()


def test_close_while_other_threads_search(tmp_path):
    rng = np.random.default_rng(12)
    index = hashidx.create(tmp_path / "c", bits=32)
    index.add(random_codes(rng, 2000, 32))
    queries = random_codes(rng, 4, 32)
    outcomes = []

    def search():
        try:
            for _ in range(200):
                index.search(queries, 3)
            outcomes.append("finished")
        except hashidx.ClosedError:
            outcomes.append("closed")

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    index.close()
    for t in threads:
        t.join()
    assert len(outcomes) == 4 and set(outcomes) <= {"finished", "closed"}


def test_library_outlives_its_handle_and_its_worker_threads(tmp_path):
    """A search on two threads leaves the library's worker threads parked; closing the library
    (as cffi does when Python exits) must not unmap the code they wake up in. In a child
    process, whose exit status is the check: killed by a signal before the fix."""
    script = f"""
import time, numpy as np, hashidx
from hashidx import _native
index = hashidx.create({str(tmp_path / "w")!r}, bits=64)
codes = np.random.default_rng(3).integers(0, 256, size=(20000, 8), dtype=np.uint8)
index.add(codes)
index.search(codes[:500], 10, threads=2)
index.close()
_native.ffi.dlclose(_native.lib)
time.sleep(3)
print("survived")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert run.stdout.strip() == "survived"
