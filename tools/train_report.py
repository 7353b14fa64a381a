#!/usr/bin/env python3
"""Trains every encoder at 16/32/64 bits on the Fashion-MNIST database split and reports training
time, encoding throughput and the final loss terms (a Markdown table on stdout).

    python3 tools/fashion_split.py /tmp/fm
    swift build -c release
    python3 tools/train_report.py /tmp/fm [--threads 2]
"""
import argparse, re, subprocess, time

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
                   "--threads", str(a.threads), "--progress", "--output", model]
            if method in ("dh", "sdh"):
                cmd += ["--labels", f"{a.split}/database_labels.npy", "--validation-queries", "500"]
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - t
            epochs = [l for l in p.stderr.splitlines() if l.startswith("epoch")]
            itq = [l for l in p.stderr.splitlines() if l.startswith("itq:")]
            terms = re.sub(r"\s+", " ", epochs[-1].split("  ", 1)[1].rsplit("  ", 1)[0]) if epochs else (itq[0][5:] if itq else "–")
            e = subprocess.run([a.binary, "encode", model, "--input", f"{a.split}/database.npy", "--output-format", "raw",
                                "--output", "/dev/null"], capture_output=True, text=True, check=True)
            rate = re.search(r"\((\d+) vectors/s\)", e.stderr).group(1)
            print(f"| {method} | {bits} | {seconds:.1f} | {int(rate):,} | {terms} |", flush=True)

if __name__ == "__main__":
    main()
