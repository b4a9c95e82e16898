#!/bin/sh
# Installs everything cueprint needs to build and test on Debian 12 (run as
# root): FFmpeg 5.1 development packages for go-astiav, and the real media
# the tests and the demo use (the public music set and real speech).
# Packages already installed are not fetched again, and `apt-get update`
# runs only when something is missing (SKIP_UPDATE=1 skips it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${MEDIA_LIST:-$here/../.cache/set_A.tsv}
mkdir -p "$(dirname "$out")"

pkgs="pkg-config gcc libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswresample-dev \
libswscale-dev libavdevice-dev ffmpeg vorbis-tools python3 \
singularity-music hyperrogue-music pushover-data fretsonfire-songs-muldjord fretsonfire-songs-sectoid \
festvox-ru"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  [ "${SKIP_UPDATE:-0}" = 1 ] || apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
fi

# The public set list (duration<TAB>path): the shared installer when it is
# beside this checkout, otherwise the same list built here.
if [ ! -s "$out" ]; then
  if [ -x "$here/../../shared/corpus/install-public.sh" ]; then
    SKIP_UPDATE=1 OUT="$out" sh "$here/../../shared/corpus/install-public.sh" >&2
  else
    dur() {
      d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" </dev/null 2>/dev/null || true)
      case "$d" in ''|N/A) d=$(ogginfo "$1" 2>/dev/null | sed -n 's/.*Playback length: \([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p' | awk '{print $1*60+$2}');; esac
      echo "${d:-0}"
    }
    {
      find /usr/share/games/singularity/music -type f -name '*.ogg' ! -name 'March Thee to Dis.ogg'
      find /usr/share/hyperrogue/music -type f -name '*.ogg'
      find /usr/share/pushover/themes -type f -name '*.ogg'
      find /usr/share/games/fretsonfire/data/songs/muldjord /usr/share/games/fretsonfire/data/songs/sectoid -type f -name song.ogg
    } | sort | while IFS= read -r f; do
      d=$(dur "$f")
      awk -v d="$d" 'BEGIN{exit !(d>=30)}' && printf '%s\t%s\n' "$d" "$f"
    done > "$out"
  fi
fi
echo "media list: $out ($(wc -l < "$out") tracks)" >&2

# Real footage for the video tests and benchmark (../shared/corpus/README.md):
# the packages' files are unpacked under .cache/video, never installed
# (their programs pull in heavy dependencies).
video=${VIDEO_DIR:-$here/../.cache/video}
if [ ! -f "$video/.done" ]; then
  mkdir -p "$video/deb"
  (cd "$video/deb" && apt-get download planetblupi-common lebiniou-data opencv-doc python3-imageio >&2)
  for d in "$video"/deb/*.deb; do dpkg-deb -x "$d" "$video/x"; done
  rm -rf "$video/deb"
  touch "$video/.done"
fi
echo "video footage: $video/x" >&2

# Redocly's CLI lints the OpenAPI document in the tests (TestOpenAPILint):
# Node.js from Debian when there is none, the CLI pinned, under .cache.
redocly=${REDOCLY_DIR:-$here/../.cache/redocly}
redocly_version=1.34.20
if ! command -v npm >/dev/null 2>&1; then
  echo "installing: nodejs npm" >&2
  [ "${SKIP_UPDATE:-0}" = 1 ] || apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >&2
fi
if [ ! -f "$redocly/.done-$redocly_version" ]; then
  mkdir -p "$redocly"
  npm install --prefix "$redocly" --no-audit --no-fund --loglevel=error "@redocly/cli@$redocly_version" >&2
  touch "$redocly/.done-$redocly_version"
fi
echo "openapi linter: $redocly/node_modules/.bin/redocly" >&2
