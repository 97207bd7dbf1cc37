#!/usr/bin/env bash
# Builds everything and runs every test (C++ Catch2 programs, Python tests, browser tests, the
# example built against the installed package). Does all set-up on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNTRACK_BUILD_BENCHMARKS=ON
cmake --build "$build" -j "$jobs"
# PostgreSQL and Ceph RGW (S3) tests fail (rather than skip) if the servers setup-deps.sh installed
# are missing.
RUNICORN_REQUIRE_PG=1 RUNICORN_REQUIRE_S3=1 ctest --test-dir "$build" --output-on-failure -j "$jobs"

# The examples build against the installed package, not the build tree.
./scripts/check-install.sh "$build"
