#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang and runs each, JOBS at a time,
# for FUZZ_SECONDS over its seed corpus. A crash, a leak or undefined behaviour
# (UBSan does not recover in this build, and a "runtime error:" in a log fails
# the run all the same) leaves the input in build-fuzz/; add it to
# tests/fuzz/corpus/<target>/ with a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-$(nproc)}
CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOPSHUB_FUZZ=ON \
  -DOPSHUB_TESTS=OFF -DOPSHUB_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$JOBS"
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One target: its result in build-fuzz/fuzz-NAME.out, its verdict in .status.
run_one() {
  local name=$1 corpus=tests/fuzz/corpus/$1
  local out=build-fuzz/fuzz-$name.out
  mkdir -p "build-fuzz/corpus-$name"
  local args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0)
  [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="../tests/fuzz/$name.dict")
  local dirs=("corpus-$name")
  [ -d "$corpus" ] && dirs+=("../$corpus")
  echo "fuzz: $name for ${FUZZ_SECONDS}s" >"$out"
  if ! (cd build-fuzz && ./"$name" "${args[@]}" "${dirs[@]}" >"fuzz-$name.log" 2>&1); then
    { echo "fuzz: $name FAILED — see build-fuzz/fuzz-$name.log"; tail -30 "build-fuzz/fuzz-$name.log"; } >>"$out"
    echo 1 >"build-fuzz/fuzz-$name.status"
  elif grep -q "runtime error:" "build-fuzz/fuzz-$name.log"; then
    { echo "fuzz: $name FAILED — undefined behaviour reported in build-fuzz/fuzz-$name.log"
      grep -m 5 -A 10 "runtime error:" "build-fuzz/fuzz-$name.log"; } >>"$out"
    echo 1 >"build-fuzz/fuzz-$name.status"
  else
    { grep -E "^#[0-9]+.*(DONE|pulse)" "build-fuzz/fuzz-$name.log" | tail -1 || true; } >>"$out"
    echo 0 >"build-fuzz/fuzz-$name.status"
  fi
}
export -f run_one
export FUZZ_SECONDS
# The targets are single-threaded: JOBS of them at a time, each on its own core.
names=()
for src in tests/fuzz/fuzz_*.c; do names+=("$(basename "$src" .c)"); done
rm -f build-fuzz/fuzz-*.status
printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {}
status=0
for name in "${names[@]}"; do
  cat "build-fuzz/fuzz-$name.out" 2>/dev/null || echo "fuzz: $name did not run"
  [ "$(cat "build-fuzz/fuzz-$name.status" 2>/dev/null)" = 0 ] || status=1
done
exit $status
