#!/usr/bin/env python3
"""Writes the evaluation split of Fashion-MNIST (Debian dataset-fashion-mnist) as .npy files.

Protocol (as in the DH paper): all 70,000 images, 784 raw pixels scaled to [0, 1]; 1,000 queries,
100 per class, drawn with a fixed seed; the other 69,000 items are the training set and database.

    python3 tools/fashion_split.py OUTDIR [--seed 0]

writes OUTDIR/{database,queries}.npy (float32) and OUTDIR/{database,queries}_labels.npy (int64).

    python3 tools/fashion_split.py OUTDIR --unseen 8,9

writes the open-set split instead: the encoders train on OUTDIR/train.npy (with train_labels.npy),
every item of the other eight classes; 100 queries per unseen class are drawn with the seed and the
database is the rest of the unseen classes' items. No label or image of an unseen class is seen in
training, so the benchmark measures how much of a supervised code carries to new classes.
"""
import argparse, gzip, os
import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--unseen", help="comma-separated classes held out of training (the open-set split)")
    a = ap.parse_args()
    x = np.concatenate([idx(f"{ROOT}/train-images-idx3-ubyte.gz"), idx(f"{ROOT}/t10k-images-idx3-ubyte.gz")]).reshape(70000, 784)
    y = np.concatenate([idx(f"{ROOT}/train-labels-idx1-ubyte.gz"), idx(f"{ROOT}/t10k-labels-idx1-ubyte.gz")]).astype(np.int64)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    x = x.astype(np.float32) / 255
    if a.unseen:
        unseen = [int(c) for c in a.unseen.split(",")]
        seen = ~np.isin(y, unseen)
        np.save(f"{a.out}/train.npy", x[seen]); np.save(f"{a.out}/train_labels.npy", y[seen])
        q = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 100, replace=False) for c in unseen]))
        mask = np.isin(y, unseen); mask[q] = False
        np.save(f"{a.out}/database.npy", x[mask]); np.save(f"{a.out}/database_labels.npy", y[mask])
        np.save(f"{a.out}/queries.npy", x[q]); np.save(f"{a.out}/queries_labels.npy", y[q])
        print(f"{seen.sum()} training items of classes other than {unseen}; {mask.sum()} database items, {len(q)} queries of {unseen} in {a.out}")
        return
    q = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 100, replace=False) for c in range(10)]))
    mask = np.ones(len(y), bool); mask[q] = False
    np.save(f"{a.out}/database.npy", x[mask]); np.save(f"{a.out}/database_labels.npy", y[mask])
    np.save(f"{a.out}/queries.npy", x[q]); np.save(f"{a.out}/queries_labels.npy", y[q])
    print(f"{mask.sum()} database items, {len(q)} queries in {a.out}")

if __name__ == "__main__":
    main()
