#!/usr/bin/env bash
# Builds runicorn and starts the main job: `runicorn viewer` on a demo store. Does all set-up on a
# fresh Debian 12 machine. The demo store (projects, finished/failed runs, a 1M-point series,
# artifacts with lineage) is written by `runicorn demo` the first time.
#   RUNICORN_DIR=<store> PORT=23300 scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"

store=${RUNICORN_DIR:-$PWD/.runicorn-demo}
if [ ! -d "$store/runs" ]; then
  "$build/apps/runicorn" demo "$store"
fi
exec "$build/apps/runicorn" viewer --storage "$store" --port "${PORT:-23300}"
