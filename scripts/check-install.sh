#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds examples/ against it with
# find_package(runtrack CONFIG REQUIRED) and runs the example training loop.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d /tmp/runtrack-prefix.XXXXXX)
example_build=$(mktemp -d /tmp/runtrack-example.XXXXXX)
store=$(mktemp -d /tmp/runtrack-example-store.XXXXXX)
trap 'rm -rf "$prefix" "$example_build" "$store"' EXIT

cmake --install "$build" --prefix "$prefix" > /dev/null
cmake -S examples -B "$example_build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$example_build"
RUNICORN_DIR="$store" "$example_build/train_loop"
echo "check-install: examples built and ran against the installed package in $prefix"
