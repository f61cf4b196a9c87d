#!/bin/sh
# Compiles the spawn helper into the classes, so the jar ships it (run by Maven in
# generate-resources). Without a C compiler the build goes on without it, and workers start
# children through ProcessBuilder instead (PROCQ_SPAWNER=auto says so once at start).
#   build.sh SOURCE OUTPUT
set -eu
source=$1
output=$2

if [ "$(uname -s)" != Linux ]; then
  echo "[WARNING] procq-spawnd: not built on $(uname -s); it needs Linux" >&2
  exit 0
fi
compiler=${CC:-cc}
if ! command -v "$compiler" >/dev/null 2>&1; then
  echo "[WARNING] procq-spawnd: no C compiler ($compiler); the jar is built without the spawn helper" >&2
  exit 0
fi
if [ -x "$output" ] && [ "$output" -nt "$source" ] && [ "$output" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$(dirname "$output")"
flags="-O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2"
# Static, so the jar runs on an image with a JRE and nothing else.
if ! "$compiler" $flags -static -o "$output.tmp" "$source" 2>"$output.log"; then
  cat "$output.log" >&2
  if grep -q -e 'error:' -e 'warning:' "$output.log"; then
    exit 1
  fi
  echo "[WARNING] procq-spawnd: static linking failed (no static libc?); linking dynamically" >&2
  "$compiler" $flags -o "$output.tmp" "$source"
fi
rm -f "$output.log"
mv "$output.tmp" "$output"
