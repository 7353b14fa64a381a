"""Shards on Ray whose answers equal one index: ``hashidx.ray.ShardedIndex``.

Each shard is one hashidx index in its own directory, owned by one Ray actor on the node whose
local disk holds it. Writes are routed by a fixed hash of the id, ``splitmix64(id) mod S`` (never
Python's ``hash()``), so an id lives in exactly one shard and an upsert replaces its code there.
Searches fan out to every shard and merge exactly: kNN by (distance, id) with the same padding
as one index, range search as the union sorted by (distance, id). So the answers equal, byte for
byte, those of one index holding every code.

Actors restart when their process dies (``max_restarts``) and re-run their constructor, which
reopens the shard (LMDB frees the dead process's reader slots); calls are retried
(``max_task_retries``), which is safe because every call is a read or an upsert/remove of a
whole batch in one transaction::

    import ray, hashidx.ray as hxr
    ray.init()
    s = hxr.ShardedIndex.create("/data/idx", bits=64, shards=4)
    s.add(codes, ids)
    D, I = s.search(xq, 10)
    lims, D, I = s.range_search(xq, 3)
"""

import json
import os
from typing import List, Optional, Sequence

import numpy as np
import ray

import hashidx
from ._index import _integer
from .errors import Error, InvalidArgumentError, NotAnIndexError

MANIFEST = "manifest.json"
ROUTING = "splitmix64(id) mod shards"
MANIFEST_VERSION = 1


def shard_of(ids: np.ndarray, shards: int) -> np.ndarray:
    """The shard of each id: splitmix64(id) mod `shards` (ids as unsigned 64-bit)."""
    z = np.asarray(ids).astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(shards)).astype(np.int64)


class ShardWriteError(Error):
    """A write reached some shards and not others. `committed` and `failed` list shard numbers;
    retrying the same batch is safe (an upsert, or a remove, of the same ids)."""

    def __init__(self, message: str, committed: List[int], failed: List[int]):
        super().__init__(message)
        self.committed = committed
        self.failed = failed


@ray.remote
class _Shard:
    """One shard: opens (or creates, the first time) its index in `path` on this node's disk."""

    def __init__(self, path, bits, substrings, expected_count):
        if os.path.exists(os.path.join(path, "data.mdb")):
            self.index = hashidx.open(path)
        else:
            self.index = hashidx.create(path, bits=bits, substrings=substrings, expected_count=expected_count)
        if self.index.bits != bits:
            raise InvalidArgumentError(f"shard '{path}' holds {self.index.bits}-bit codes, the manifest says {bits}")

    def add(self, codes, ids):
        return self.index.add(codes, ids=ids)

    def remove(self, ids):
        return self.index.remove(ids)

    def search(self, queries, k, threads):
        return self.index.search(queries, k, threads=threads)

    def range_search(self, queries, radius, threads):
        return self.index.range_search(queries, radius, threads=threads)

    def count(self):
        return len(self.index)

    def stats(self):
        return self.index.stats()

    def bucket_stats(self, largest):
        return self.index.bucket_stats(largest)

    def verify(self):
        return self.index.verify()

    def compact(self):
        return self.index.compact()

    def pid(self):
        return os.getpid()

    def node(self):
        """The Ray node this shard runs on."""
        return ray.get_runtime_context().get_node_id()

    def close(self):
        self.index.close()


class ShardedIndex:
    """An index split over `shards` Ray actors; see the module's documentation."""

    def __init__(self, path: str, manifest: dict, actors: list):
        self.path = path
        self.manifest = manifest
        self.bits: int = manifest["bits"]
        self.shards: int = manifest["shards"]
        self.code_bytes = (self.bits + 7) // 8
        self._actors = actors

    # -- making and finding --

    @staticmethod
    def _start(path, manifest, num_cpus, max_restarts, max_task_retries, scheduling_strategy):
        actors = []
        for i in range(manifest["shards"]):
            options = dict(num_cpus=num_cpus, max_restarts=max_restarts, max_task_retries=max_task_retries)
            if scheduling_strategy is not None:
                options["scheduling_strategy"] = scheduling_strategy(i) if callable(scheduling_strategy) else scheduling_strategy
            actors.append(_Shard.options(**options).remote(
                os.path.join(path, f"shard-{i:03d}"), manifest["bits"], manifest.get("substrings"),
                manifest.get("expected_count_per_shard")))
        # Every shard is open before the object is handed out (a constructor's error surfaces here).
        ray.get([a.count.remote() for a in actors])
        return actors

    @classmethod
    def create(cls, path: str, bits: int, shards: int = 4, substrings: Optional[int] = None,
               expected_count: Optional[int] = None, num_cpus: float = 0.5, max_restarts: int = 4,
               max_task_retries: int = 4, scheduling_strategy=None) -> "ShardedIndex":
        """Creates `shards` empty indexes under `path` (``shard-000`` …), one Ray actor each, and
        the manifest (bits, shard count, routing rule, format version). `num_cpus` is what each
        actor reserves; `scheduling_strategy` (a Ray strategy, or a function of the shard number
        returning one, e.g. a placement group bundle or a node) places the actors."""
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 4096:
            raise InvalidArgumentError(f"shards must be an integer between 1 and 4096, found {shards!r}")
        if isinstance(bits, bool) or not isinstance(bits, int) or not 8 <= bits <= 1024:
            raise InvalidArgumentError(f"bits must be between 8 and 1024, found {bits!r}")
        manifest_path = os.path.join(path, MANIFEST)
        if os.path.exists(manifest_path):
            raise hashidx.AlreadyExistsError(f"'{path}' already holds a sharded index")
        manifest = {"manifest_version": MANIFEST_VERSION, "bits": bits, "shards": shards, "routing": ROUTING,
                    "format_version": hashidx.format_version, "substrings": substrings,
                    "expected_count_per_shard": None if expected_count is None else max(1, expected_count // shards)}
        os.makedirs(path, exist_ok=True)
        actors = cls._start(path, manifest, num_cpus, max_restarts, max_task_retries, scheduling_strategy)
        tmp = manifest_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, manifest_path)
        return cls(path, manifest, actors)

    @classmethod
    def open(cls, path: str, num_cpus: float = 0.5, max_restarts: int = 4, max_task_retries: int = 4,
             scheduling_strategy=None) -> "ShardedIndex":
        """Opens the sharded index at `path` from its manifest; refuses a manifest it does not
        understand (another routing rule, a newer format) with a clear error."""
        manifest_path = os.path.join(path, MANIFEST)
        try:
            with open(manifest_path) as f:
                manifest = json.load(f)
        except FileNotFoundError:
            raise NotAnIndexError(f"'{path}' is not a sharded hashidx index: it has no {MANIFEST}") from None
        except ValueError as e:
            raise hashidx.CorruptError(f"'{manifest_path}' is not valid JSON: {e}") from None
        if manifest.get("manifest_version") != MANIFEST_VERSION or manifest.get("routing") != ROUTING:
            raise InvalidArgumentError(
                f"'{manifest_path}' has manifest version {manifest.get('manifest_version')!r} and routing "
                f"{manifest.get('routing')!r}; this package reads version {MANIFEST_VERSION} with routing '{ROUTING}'")
        if not isinstance(manifest.get("shards"), int) or not isinstance(manifest.get("bits"), int):
            raise hashidx.CorruptError(f"'{manifest_path}' lacks an integer 'shards' or 'bits'")
        if manifest.get("format_version", 0) > hashidx.format_version:
            raise hashidx.NewerFormatError(
                f"the shards have format version {manifest['format_version']}, newer than this package reads ({hashidx.format_version})")
        actors = cls._start(path, manifest, num_cpus, max_restarts, max_task_retries, scheduling_strategy)
        return cls(path, manifest, actors)

    # -- writes --

    def _split(self, ids: np.ndarray):
        owner = shard_of(ids, self.shards)
        return [np.nonzero(owner == s)[0] for s in range(self.shards)]

    def _write(self, what, calls):
        refs = {s: ref for s, ref in calls}
        done, failed, first = [], [], None
        for s, ref in refs.items():
            try:
                ray.get(ref)
                done.append(s)
            except Exception as e:  # noqa: BLE001 - reported with the shards it reached
                failed.append(s)
                first = first or e
        if failed:
            cause = first.cause if hasattr(first, "cause") and isinstance(getattr(first, "cause"), Exception) else first
            raise ShardWriteError(f"{what} committed on shards {done} and failed on shards {failed}: {cause}", done, failed)
        return [ray.get(refs[s]) for s in sorted(refs)]

    def add(self, codes: np.ndarray, ids) -> None:
        """Stores `codes` ((n, code_bytes) uint8) under `ids` ((n,) uint64 or int64 ≥ 0, required):
        each shard's part in one transaction, all parts in parallel. Returns when every part has
        committed; otherwise raises ShardWriteError naming the shards that did. Retrying the same
        batch is safe (an upsert)."""
        codes = np.ascontiguousarray(codes)
        if ids is None:
            raise InvalidArgumentError("a sharded index needs ids: they choose the shard")
        ids = np.asarray(ids)
        if codes.ndim != 2 or codes.dtype != np.uint8 or codes.shape[1] != self.code_bytes:
            raise InvalidArgumentError(f"codes must be (n, {self.code_bytes}) uint8; found {codes.shape} {codes.dtype}")
        if ids.ndim != 1 or ids.shape[0] != codes.shape[0] or ids.dtype.kind not in "iu" or (ids.size and ids.dtype.kind == "i" and ids.min() < 0):
            raise InvalidArgumentError(f"ids must be ({codes.shape[0]},) integers ≥ 0; found {ids.shape} {ids.dtype}")
        ids = ids.astype(np.uint64)
        parts = self._split(ids)
        self._write("add", [(s, self._actors[s].add.remote(codes[p], ids[p])) for s, p in enumerate(parts) if len(p)])

    def remove(self, ids) -> int:
        """Removes the codes of `ids` (routed like writes); returns how many were removed."""
        ids = np.atleast_1d(np.asarray(ids))
        if ids.dtype.kind not in "iu" or (ids.size and ids.dtype.kind == "i" and ids.min() < 0):
            raise InvalidArgumentError(f"ids must be integers ≥ 0, found dtype {ids.dtype}")
        ids = ids.astype(np.uint64)
        parts = self._split(ids)
        return int(sum(self._write("remove", [(s, self._actors[s].remove.remote(ids[p])) for s, p in enumerate(parts) if len(p)])))

    def compact(self) -> int:
        return int(sum(ray.get([a.compact.remote() for a in self._actors])))

    # -- reads --

    def __len__(self) -> int:
        return int(sum(ray.get([a.count.remote() for a in self._actors])))

    def stats(self) -> List[dict]:
        """Each shard's statistics, in shard order."""
        return ray.get([a.stats.remote() for a in self._actors])

    def bucket_stats(self, largest: int = 5) -> List[List[dict]]:
        """Each shard's `Index.bucket_stats`, in shard order (a shard's tables hold its codes only)."""
        largest = _integer(largest, "largest", 0)      # checked here: inside an actor it would come back as a RayTaskError
        return ray.get([a.bucket_stats.remote(largest) for a in self._actors])

    def verify(self) -> int:
        """Verifies every shard; returns the number of codes checked."""
        return int(sum(ray.get([a.verify.remote() for a in self._actors])))

    def _queries(self, queries):
        queries = np.ascontiguousarray(queries)
        if queries.ndim != 2 or queries.dtype != np.uint8 or queries.shape[1] != self.code_bytes:
            raise InvalidArgumentError(f"queries must be (nq, {self.code_bytes}) uint8; found {queries.shape} {queries.dtype}")
        return queries

    def search(self, queries: np.ndarray, k: int, threads: Optional[int] = None):
        """Exact kNN over every shard, merged by (distance, id): the (D, I) one index holding every
        code returns, padding (-1) included."""
        queries = self._queries(queries)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidArgumentError(f"k must be an integer of at least 1, found {k!r}")
        ref = ray.put(queries)
        parts = ray.get([a.search.remote(ref, int(k), threads) for a in self._actors])
        D = np.concatenate([p[0] for p in parts], axis=1)
        I = np.concatenate([p[1] for p in parts], axis=1)
        key = np.where(D < 0, np.iinfo(np.int64).max, D.astype(np.int64))
        order = np.lexsort((I.view(np.uint64), key), axis=1)[:, :k]
        return np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)

    def range_search(self, queries: np.ndarray, radius: int, threads: Optional[int] = None):
        """Exact range search (inclusive radius) over every shard: (lims, D, I), each query's hits
        the union of the shards', sorted by (distance, id)."""
        queries = self._queries(queries)
        nq = queries.shape[0]
        ref = ray.put(queries)
        parts = ray.get([a.range_search.remote(ref, radius, threads) for a in self._actors])
        q = np.concatenate([np.repeat(np.arange(nq), np.diff(lims)) for lims, _, _ in parts])
        D = np.concatenate([p[1] for p in parts])
        I = np.concatenate([p[2] for p in parts])
        order = np.lexsort((I.view(np.uint64), D, q))
        lims = np.zeros(nq + 1, dtype=np.int64)
        np.cumsum(np.bincount(q, minlength=nq), out=lims[1:])
        return lims, D[order], I[order]

    # -- lifetime --

    def actors(self) -> list:
        """The shard actors, in shard order (for placement checks and fault tests)."""
        return list(self._actors)

    def close(self) -> None:
        """Closes every shard and ends its actor."""
        actors, self._actors = self._actors, []
        refs = [a.close.remote() for a in actors]
        for ref in refs:
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError:
                pass                     # a shard whose actor is gone has nothing left to close
        for a in actors:
            ray.kill(a, no_restart=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
