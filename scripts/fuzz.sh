#!/bin/sh
# Runs every fuzzer in the module (every func FuzzX in a _test.go file),
# FUZZTIME each (default 30s), one after another: a new fuzzer is run
# without being listed anywhere.
set -eu
cd "$(dirname "$0")/.."
t=${FUZZTIME:-30s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  dir=${f%/*}
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
    echo "== ${dir#./} $name ($t)"
    go test -run '^$' -fuzz "^$name\$" -fuzztime "$t" "./${dir#./}/"
  done
done
