#!/bin/sh
# Scan benchmark: builds a catalogue of N items from the public music set
# (a registered recording cut and re-encoded between two stretches of
# unregistered music; every fifth item unregistered music only; two items
# that cannot be read), registers 20 recordings, scans the list
# with `cueprint scan` and, for comparison, matches each item with a
# `cueprint match` process. It checks every expected use is found once,
# within 1 s, with no line for unregistered music, then prints the
# throughputs in hours of media per hour of wall time.
#
# usage: scripts/scan-bench.sh [N] [DIR]   (defaults: 200 items, ./out/scan-bench)
set -eu
n=${1:-200}
dir=${2:-out/scan-bench}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/bin/cueprint
list=$here/.cache/set_A.tsv
[ -x "$bin" ] || (cd "$here" && go build -o bin/cueprint ./cmd/cueprint)
rm -rf "$dir" && mkdir -p "$dir/media"
db=$dir/db
# The set's recordings FFmpeg decodes whole (a few are damaged) and long
# enough for every cut below (100 s), so the expected times are exact.
awk -F'\t' '$1 >= 100 {print $2}' "$list" | while IFS= read -r p; do
  ffmpeg -nostdin -v error -i "$p" -f null - 2>/dev/null </dev/null && echo "$p"
done >"$dir/usable.txt"
head -20 "$dir/usable.txt" >"$dir/registered.txt"
tail -n +21 "$dir/usable.txt" >"$dir/unregistered.txt"
nu=$(wc -l <"$dir/unregistered.txt")
nth() { sed -n "$(( $2 + 1 ))p" "$dir/$1.txt"; }   # paths may hold spaces
i=0
while IFS= read -r p; do
  "$bin" register --db "$db" --id "W$i" --title "Recording $i" --isrc "$(printf 'XXCPR26%05d' "$i")" \
    --owner "Writer $i:50:composer" --owner "Publisher $((i % 3)):50:publisher" "$p" >/dev/null </dev/null
  i=$((i + 1))
done <"$dir/registered.txt"
echo "item_id,media,views,territory,period,expect_work,expect_start,expect_end" >"$dir/items.csv"
k=0
while [ "$k" -lt "$n" ]; do
  u1=$(nth unregistered $((k % nu)))
  u2=$(nth unregistered $(((k + 7) % nu)))
  f=$dir/media/item$k.mp3
  if [ $((k % 5)) -eq 4 ]; then
    ffmpeg -nostdin -loglevel error -y -i "$u1" -af atrim=start=30:duration=40 -b:a 128k "$f"
    echo "i$k,item$k.mp3,$((k * 13)),FR,2026-11,,," >>"$dir/items.csv"
  else
    w=$((k % 20))
    r=$(nth registered "$w")
    ss=$((10 + k % 40))
    # atrim cuts at the sample (an input -ss on Ogg seeks to a page, seconds off).
    ffmpeg -nostdin -loglevel error -y -i "$u1" -i "$r" -i "$u2" -filter_complex \
      "[0:a]atrim=start=40:duration=20,asetpts=PTS-STARTPTS,aresample=44100,aformat=channel_layouts=stereo[a];[1:a]atrim=start=$ss:duration=45,asetpts=PTS-STARTPTS,aresample=44100,aformat=channel_layouts=stereo[b];[2:a]atrim=start=60:duration=20,asetpts=PTS-STARTPTS,aresample=44100,aformat=channel_layouts=stereo[c];[a][b][c]concat=n=3:v=0:a=1" \
      -b:a 96k "$f"
    echo "i$k,item$k.mp3,$((k * 13)),DE,2026-11,W$w,20,65" >>"$dir/items.csv"
  fi
  k=$((k + 1))
done
head -c 20000 /dev/urandom >"$dir/media/corrupt.mp3"
echo "bad1,corrupt.mp3,0,FR,2026-11,,," >>"$dir/items.csv"
echo "bad2,missing.mp3,0,FR,2026-11,,," >>"$dir/items.csv"

t0=$(date +%s.%N)
"$bin" scan --db "$db" --items "$dir/items.csv" --media-root "$dir/media" --name bench --workers 2 </dev/null >"$dir/scan.txt"
t1=$(date +%s.%N)
id=$("$bin" scan --db "$db" --list | awk 'NR==2{print $1}')
"$bin" report --db "$db" --scan "$id" --format usages.csv >"$dir/usages.csv"
t2=$(date +%s.%N)
for f in "$dir"/media/item*.mp3; do "$bin" match --db "$db" --json "$f" >/dev/null; done
t3=$(date +%s.%N)
cat "$dir/scan.txt" | head -4
python3 - "$dir/items.csv" "$dir/usages.csv" "$dir/scan.txt" "$t0" "$t1" "$t2" "$t3" <<'PY'
import csv, sys, re
items, usages, scantxt = sys.argv[1:4]
t0, t1, t2, t3 = map(float, sys.argv[4:8])
want = {r["item_id"]: r for r in csv.DictReader(open(items)) if r["expect_work"]}
got = {}
extra = 0
for u in csv.DictReader(open(usages)):
    if u["status"] != "confirmed":
        continue
    w = want.get(u["item_id"])
    if w and w["expect_work"] == u["work_id"] and u["item_id"] not in got:
        got[u["item_id"]] = u
    else:
        extra += 1
within = sum(1 for k, u in got.items() if abs(float(u["query_start_s"]) - float(want[k]["expect_start"])) <= 1 and abs(float(u["query_end_s"]) - float(want[k]["expect_end"])) <= 1)
hours = float(re.search(r"([0-9.]+) h of media", open(scantxt).read()).group(1))
print(f"expected uses {len(want)}, found {len(got)}, start and end within 1 s {within}, other lines {extra}")
print(f"media {hours:.2f} h; scan (2 workers) {t1-t0:.1f} s = {hours/((t1-t0)/3600):.0f} h/h; "
      f"match loop {t3-t2:.1f} s = {hours/((t3-t2)/3600):.0f} h/h; ratio {(t3-t2)/(t1-t0):.2f}")
PY
