#!/usr/bin/env bash
# Builds runicorn and starts the main job on a demo store. Does all set-up on a fresh Debian 12
# machine. Until the viewer lands this writes a demo store and prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"

store=${RUNICORN_DIR:-$PWD/.runicorn-demo}
RUNICORN_DIR="$store" "$build/examples/train_loop"
