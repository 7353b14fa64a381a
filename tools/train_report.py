#!/usr/bin/env python3
"""Trains every encoder at 16/32/64 bits on the Fashion-MNIST database split and reports training
time, encoding throughput and the final loss terms (a Markdown table on stdout).

    python3 tools/fashion_split.py /tmp/fm
    swift build -c release
    python3 tools/train_report.py /tmp/fm [--threads 2]
"""
import argparse
import json
import tempfile, re, subprocess, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("split")
    ap.add_argument("--binary", default=".build/release/hashidx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default="lsh,pcah,itq,dh,sdh")
    ap.add_argument("--bits", default="16,32,64")
    a = ap.parse_args()
    print("| method | bits | training s | encode vectors/s | final loss terms |")
    print("|---|---:|---:|---:|---|")
    for method in a.methods.split(","):
        for bits in [int(b) for b in a.bits.split(",")]:
            model = f"{a.split}/{method}{bits}.model"
            cmd = [a.binary, "train", "--method", method, "--bits", str(bits), "--input", f"{a.split}/database.npy",
                   "--threads", str(a.threads), "--format", "json", "--output", model]
            if method in ("dh", "sdh"):
                cmd += ["--labels", f"{a.split}/database_labels.npy", "--validation-queries", "500"]
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - t
            summary = json.loads(p.stdout)
            if summary.get("epochs"):
                t = summary["epochs"][-1]["terms"]
                terms = " ".join(f"{k} {t[k]:.6g}" for k in ("total", "quantization", "balance", "orthogonality", "decay", "supervised"))
            elif summary.get("itq_losses"):
                losses = summary["itq_losses"]
                terms = f"ITQ quantisation loss {losses[0]:.4g} → {losses[-1]:.4g} ({len(losses)} iterations)"
            else:
                terms = "–"
            with tempfile.TemporaryDirectory() as scratch:
                e = subprocess.run([a.binary, "encode", model, "--input", f"{a.split}/database.npy", "--output-format", "raw",
                                    "--output", f"{scratch}/codes.raw", "--format", "json"], capture_output=True, text=True, check=True)
            rate = int(json.loads(e.stdout)["vectors_per_second"])
            print(f"| {method} | {bits} | {seconds:.1f} | {int(rate):,} | {terms} |", flush=True)

if __name__ == "__main__":
    main()
