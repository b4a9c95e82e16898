#!/bin/sh
# Scan benchmark. Builds a platform catalogue of N items from the public
# music set and real speech (scripts/scan-bench.py says what each item
# holds: registered recordings cut, re-encoded to MP3, AAC or Opus,
# degraded by noise, gain and band-limiting, and concatenated with
# unregistered music and speech, up to two works an item, one item in
# five with no registered work; plus a corrupt, a missing and a huge item
# and one outside the media root), registers 20 recordings, and scans the
# list with `cueprint scan`. It checks that every expected use is found
# once with start and end within 1 s and that no line names anything
# else, and validates the scan's DSR with DDEX's validator when it is
# beside this checkout.
#
# RESUME=1 scans the same list again on a copy of the store, kills it
# with -9 half-way, resumes it with the same command, and compares every
# report format of the two scans byte for byte. AUDIT=1 scans the items'
# media files as a training set and checks the audit's works, files,
# hours and registered share. LOOP=1 matches each item with its own
# `cueprint match` process and prints both throughputs in hours of media
# per hour. AUDIT and LOOP are on by default under 500 items.
#
# The catalogue is built once per N and DIR and reused by later runs; an
# interrupted build goes on where it stopped (BUILD_ONLY=1 builds it and
# stops).
#
# usage: scripts/scan-bench.sh [N] [DIR]   (defaults: 200 items, ./out/scan-bench)
set -eu
n=${1:-200}
dir=${2:-out/scan-bench}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/bin/cueprint
list=${CUEPRINT_MEDIA_LIST:-$here/.cache/set_A.tsv}
small=$([ "$n" -lt 500 ] && echo 1 || echo 0)
loop=${LOOP:-$small}
audit=${AUDIT:-$small}
[ -x "$bin" ] || (cd "$here" && go build -o bin/cueprint ./cmd/cueprint)
# The catalogue and the store of registered works are built once per N
# and DIR; every run scans a fresh copy of that store.
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
db=$dir/db
if [ "$(cat "$dir/.built" 2>/dev/null)" != "$n" ]; then
  rm -rf "$dir/db.base" && mkdir -p "$dir/media"
  python3 "$here/scripts/scan-bench.py" build "$list" "$dir" "$n"
  i=0
  while IFS= read -r p; do
    "$bin" register --db "$dir/db.base" --id "W$i" --title "Recording $i" --isrc "$(printf 'XXCPR26%05d' "$i")" \
      --owner "Writer $i:50:composer" --owner "Publisher $((i % 3)):50:publisher" "$p" >/dev/null 2>&1 </dev/null ||
      { echo "register $p failed" >&2; exit 1; }
    i=$((i + 1))
  done <"$dir/registered.txt"
  echo "$n" >"$dir/.built"
fi
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
rm -rf "$db" "$dir/db2" "$dir/report" "$dir/report2" "$dir/report.log"
cp -r "$dir/db.base" "$db"
[ "${RESUME:-0}" = 1 ] && cp -r "$dir/db.base" "$dir/db2"

scan() { # scan DB [exec]: the list, as a CMO would run it
  db_=$1; shift
  "$@" "$bin" scan --db "$db_" --items "$dir/items.csv" --media-root "$dir/media" --name bench --workers 2 \
    --max-item-size 200M </dev/null
}
reports() { # reports DB OUT: every format of the store's one scan
  id=$("$bin" scan --db "$1" --list | awk 'NR==2{print $1}')
  mkdir -p "$2"
  for f in usages.csv usages.json works.csv works.json owners.csv owners.json audit.json audit.csv; do
    "$bin" report --db "$1" --scan "$id" --format "$f" --out "$2/$f" >/dev/null 2>>"$dir/report.log"
  done
  "$bin" report --db "$1" --scan "$id" --format dsr.tsv --out "$2" --sender-party-id PADPIDA2014120301L \
    --sender-name "Example Video" --recipient-party-id PADPIDA20261205016 --recipient-name "Example CMO" \
    --service ExampleVideo --created 2026-12-01T10:00:00Z >/dev/null 2>>"$dir/report.log"
}

t0=$(date +%s.%N)
scan "$db" >"$dir/scan.txt"
t1=$(date +%s.%N)
reports "$db" "$dir/report"
grep -E '^scan .* done|^  line' "$dir/scan.txt" || true
python3 "$here/scripts/scan-bench.py" check "$dir"
validator=$here/../shared/formats/dsr-validate.sh
[ -x "$validator" ] || validator=""
[ -z "$validator" ] || "$validator" "$dir"/report/DSR_*.tsv

if [ "$audit" = 1 ]; then
  # The items' media as a training set: a dataset scan and its audit.
  rm -rf "$dir/dataset" && mkdir "$dir/dataset"
  ln "$dir"/media/item* "$dir/dataset/"
  "$bin" scan --db "$db" --dataset "$dir/dataset" --name dataset --workers 2 </dev/null >"$dir/dataset.txt" 2>&1
  id=$("$bin" scan --db "$db" --list | awk '$0 ~ /dataset/ {print $1}' | head -1)
  "$bin" report --db "$db" --scan "$id" --format audit.json --out "$dir/audit.json" 2>>"$dir/report.log"
  python3 "$here/scripts/scan-bench.py" audit "$dir"
fi

if [ "${RESUME:-0}" = 1 ]; then
  half=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%d", (b-a)/2}')
  (scan "$dir/db2" exec >"$dir/scan2.txt" 2>&1) &
  pid=$!
  sleep "$half"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "killed -9 after ${half} s: $(tail -1 "$dir/scan2.txt")"
  scan "$dir/db2" >"$dir/scan3.txt"
  reports "$dir/db2" "$dir/report2"
  grep -E '^scan .* done' "$dir/scan3.txt"
  if diff -r "$dir/report" "$dir/report2" >/dev/null; then
    echo "resumed scan: all $(ls "$dir/report" | wc -l) reports byte-identical"
  else
    echo "resumed scan: reports differ"; diff -rq "$dir/report" "$dir/report2"; exit 1
  fi
fi

if [ "$loop" = 1 ]; then
  t2=$(date +%s.%N)
  for f in "$dir"/media/item*; do "$bin" match --db "$db" --json "$f" >/dev/null 2>&1 </dev/null || true; done
  t3=$(date +%s.%N)
  hours=$(sed -n 's/.*, \([0-9.]*\) h of media.*/\1/p' "$dir/scan.txt" | tail -1)
  awk -v h="$hours" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN{
    printf "media %.2f h; scan (2 workers) %.1f s = %.0f h/h; match loop %.1f s = %.0f h/h; ratio %.2f\n",
      h, b-a, h/((b-a)/3600), d-c, h/((d-c)/3600), (d-c)/(b-a)}'
fi
