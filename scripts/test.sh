#!/usr/bin/env bash
# The whole test command (make test): lint, release build + every test,
# ASan+UBSan build + every test, a short libFuzzer run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
# 2 s per target, JOBS targets at a time (scripts/fuzz.sh), to keep the whole command near
# 15 minutes on 2 cores (a fresh clone took 984 s with 31 targets at 3 s; the corpus of every
# target is replayed first either way); `make fuzz` and `make fuzz-long` run longer, and a
# changed parser gets a long run of its own. ctest stays at -j JOBS: at -j3/-j4 on 2 cores the
# timing-sensitive integration tests (notify, promql_diff) failed under ASan.
FUZZ_SECONDS=${FUZZ_SECONDS:-2}

step() { printf '\n=== %s ===\n' "$*"; }

step "lint"
bash scripts/lint.sh

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"

count_ctest() { grep -oE '[0-9]+ tests failed out of [0-9]+' "$1" | awk '{print $NF}' | tail -1; }
# One ctest test per tests/<module>/test_*.c and tests/integration/test_*.py: a build
# directory that runs fewer (a group dropped by a stale cache or a broken glob) fails here.
expected_tests=$(ls tests/*/test_*.c tests/integration/test_*.py | wc -l)
expect_all() {
  if [ "$1" != "$expected_tests" ]; then
    echo "test.sh: $2 ran $1 tests, expected $expected_tests (one per tests/*/test_*.c and tests/integration/test_*.py)"
    exit 1
  fi
}

step "tests (release build)"
(cd build && ctest --output-on-failure -j "$JOBS") 2>&1 | tee build/ctest.log
release_tests=$(count_ctest build/ctest.log)
expect_all "$release_tests" "the release build"

step "ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOPSHUB_SANITIZE=ON -DOPSHUB_BENCH=OFF >/dev/null
cmake --build build-asan -j "$JOBS"

step "tests (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every test but the browser one: its ~60 s under ASan would push the command past 15 minutes,
# and the server code it drives (login, cookies and CSRF, the API, static files, the event
# stream, the status page) runs under ASan in the API-level integration tests all the same; it
# runs against the release build above.
(cd build-asan && ctest --output-on-failure -j "$JOBS" -E '^integration_test_dashboard$') 2>&1 | tee build-asan/ctest.log
asan_tests=$(count_ctest build-asan/ctest.log)
expect_all "$((asan_tests + 1))" "the ASan+UBSan build (plus the browser test)"
unset ASAN_OPTIONS UBSAN_OPTIONS

step "fuzz smoke (${FUZZ_SECONDS}s per target)"
FUZZ_SECONDS=$FUZZ_SECONDS bash scripts/fuzz.sh
fuzzers=$(ls tests/fuzz/fuzz_*.c | wc -l)

# Reached only when every step passed (set -e, pipefail).
echo
echo "summary: $((1 + release_tests + asan_tests + fuzzers)) passed, 0 failed"
