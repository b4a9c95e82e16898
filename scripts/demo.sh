#!/bin/sh
# The demo: register real recordings from the public set, render a degraded
# excerpt of one of them (10 s, re-encoded to MP3 at 64 kb/s, pink noise at
# 5 dB SNR, played 3 % fast), identify it, and show that an unregistered
# track and real speech match nothing.
set -eu
cd "$(dirname "$0")/.."
bin=./bin/cueprint
list=${CUEPRINT_MEDIA_LIST:-.cache/set_A.tsv}
work=out/demo
rm -rf "$work"; mkdir -p "$work"

# Register the even-numbered tracks (the odd ones stay unregistered).
awk -F'\t' 'BEGIN{print "id,title,isrc,iswc,path"} NR%2==0 && $2 !~ /savino/ {
  n=split($2,a,"/"); t=a[n]; if (t=="song.ogg") t=a[n-1]; sub(/\.ogg$/,"",t); gsub(/,/," ",t)
  printf "work-%03d,%s,,,%s\n", NR, t, $2 }' "$list" > "$work/works.csv"
echo "== registering $(($(wc -l < "$work/works.csv")-1)) works"
$bin register --db "$work/db" --manifest "$work/works.csv"

ref=$(awk -F'\t' 'NR==2{print $2}' "$list")
echo
echo "== a degraded excerpt of: $ref (60 s in, 10 s, 3 % fast, pink noise 5 dB, MP3 64 kb/s)"
$bin excerpt --start 60 --length 10 --speed 1.03 --noise pink --snr 5 --codec mp3 --bitrate 64 --out "$work/query.mp3" "$ref"
$bin match --db "$work/db" "$work/query.mp3"
$bin match --db "$work/db" --json "$work/query.mp3"

neg=$(awk -F'\t' 'NR==3{print $2}' "$list")
echo
echo "== an unregistered track: $neg"
$bin excerpt --start 30 --length 10 --out "$work/unregistered.wav" "$neg"
$bin match --db "$work/db" "$work/unregistered.wav"
speech=/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/ru_0001.wav
if [ -f "$speech" ]; then
  echo "== real speech"
  $bin match --db "$work/db" "$speech"
fi
