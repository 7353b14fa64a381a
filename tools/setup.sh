#!/usr/bin/env bash
# Installs the Debian packages hashidx builds and runs with (needs root or sudo), and those its
# tests use: a C compiler and binutils, python3 with venv, and an aarch64 cross compiler with
# qemu-user for the NEON kernels.
set -euo pipefail
packages=(liblmdb-dev pkg-config libopenblas-dev liblapacke-dev zlib1g-dev dataset-fashion-mnist
          gcc binutils gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# The Python package's tests need a python3 with venv and pip (Debian splits them out).
if ! command -v python3 >/dev/null || ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    missing+=(python3 python3-venv python3-pip)
fi
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
