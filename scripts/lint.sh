#!/usr/bin/env bash
# Project-specific checks that a compiler does not make (curl's checksrc idea):
# banned functions, exit() below main, and the include graph's layering.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
report() { echo "lint: $*"; fail=1; }

# 1. Banned calls: unbounded string functions.
while IFS= read -r hit; do report "banned function: $hit"; done < <(
  grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets)\s*\(' src/*/*.c src/*.c 2>/dev/null | grep -v 'snprintf' || true)

# 2. exit()/abort() only in main.c (libraries return errors).
while IFS= read -r hit; do report "exit/abort below main: $hit"; done < <(
  grep -nE '\b(exit|abort|_exit)\(' src/*/*.c 2>/dev/null || true)

# 3. Layering: a folder includes only itself and lower layers; *_int.h stays in its folder.
declare -A rank=([base]=0 [model]=1 [conf]=2 [store]=3 [probe]=3 [series]=3 [rules]=4 [export]=4 [auth]=4 [sched]=4 [oncall]=4 [objects]=5 [notify]=5 [incidents]=6 [http]=7 [app]=8 [cli]=9)
for f in src/*/*.[ch]; do
  dir=$(basename "$(dirname "$f")")
  [ -n "${rank[$dir]:-}" ] || { report "$f: folder '$dir' has no layer in scripts/lint.sh"; continue; }
  while IFS= read -r inc; do
    target=${inc%%/*}
    [ "$target" = "$dir" ] && continue
    if [ -z "${rank[$target]:-}" ]; then report "$f includes unknown module \"$inc\""; continue; fi
    if [ "${rank[$target]}" -ge "${rank[$dir]}" ]; then
      report "$f (layer $dir) includes \"$inc\" (layer $target): lower layers must not include upper ones"
    fi
    case "$inc" in *_int.h) report "$f includes another folder's private header \"$inc\"";; esac
  done < <(grep -oE '^#include "[a-z_]+/[a-z_0-9]+\.h"' "$f" | sed -E 's/#include "(.*)"/\1/')
done

# 4. Every source file starts with a header comment.
for f in src/*/*.[ch] src/main.c; do
  head -1 "$f" | grep -q '^/\*' || report "$f: missing the file header comment"
done

# 5. The repository stands alone: no pointer to documents it does not hold.
while IFS= read -r hit; do report "reference to a document outside the repository: $hit"; done < <(
  grep -rnE 'DESIGN(\.md)? ?§|MEASURED\.md|STYLE\.md|\.\./shared|/work/shared' \
    src tests scripts bench docs examples README.md CMakeLists.txt Makefile 2>/dev/null \
    | grep -v '^scripts/lint.sh:' | grep -v node_modules || true)

[ $fail -eq 0 ] && echo "lint: ok"
exit $fail
