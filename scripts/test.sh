#!/usr/bin/env bash
# The whole test command (make test): lint, release build + every test,
# ASan+UBSan build + every test, a short libFuzzer run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}

step() { printf '\n=== %s ===\n' "$*"; }

step "lint"
bash scripts/lint.sh

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"

step "tests (release build)"
(cd build && ctest --output-on-failure -j "$JOBS")

step "ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOPSHUB_SANITIZE=ON -DOPSHUB_BENCH=OFF >/dev/null
cmake --build build-asan -j "$JOBS"

step "tests (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$JOBS")
unset ASAN_OPTIONS UBSAN_OPTIONS

step "fuzz smoke (${FUZZ_SECONDS}s per target)"
FUZZ_SECONDS=$FUZZ_SECONDS bash scripts/fuzz.sh
