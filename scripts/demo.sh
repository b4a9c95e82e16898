#!/bin/sh
# The demo: register real recordings from the public set, render a degraded
# excerpt of one of them (10 s, re-encoded to MP3 at 64 kb/s, pink noise at
# 5 dB SNR, played 3 % fast), identify it, show that an unregistered
# track and real speech match nothing, then scan those and a mix as a
# platform's catalogue and print the usage lines.
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

# A catalogue scan: the three queries above as a platform's uploads, and a
# mix of two registered recordings with the unregistered one between them.
echo
echo "== a catalogue scan and its usage report"
ref2=$(awk -F'\t' 'NR==4{print $2}' "$list")
$bin excerpt --start 20 --length 30 --codec wav --out "$work/a.wav" "$ref"
$bin excerpt --start 40 --length 20 --codec wav --out "$work/b.wav" "$neg"
$bin excerpt --start 50 --length 30 --codec wav --out "$work/c.wav" "$ref2"
ffmpeg -nostdin -v error -y -i "$work/a.wav" -i "$work/b.wav" -i "$work/c.wav" \
  -filter_complex '[0:a][1:a][2:a]concat=n=3:v=0:a=1' -b:a 128k "$work/mix.mp3"
cat > "$work/items.csv" <<CSV
item_id,media,views,territory,period,uploader
up-1,query.mp3,1200,FR,2026-11,ana
up-2,unregistered.wav,80,FR,2026-11,bo
up-3,mix.mp3,5400,DE,2026-11,dj_k
up-4,missing.mp3,0,DE,2026-11,cy
CSV
$bin scan --db "$work/db" --items "$work/items.csv" --workers 2
scan=$($bin scan --db "$work/db" --list | awk 'NR==2{print $1}')
$bin report --db "$work/db" --scan "$scan" --format usages.csv | cut -d, -f4,13,14,26,27,35
