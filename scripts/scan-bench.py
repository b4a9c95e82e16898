#!/usr/bin/env python3
"""Builds and checks the scan benchmark's catalogue (see scan-bench.sh).

build LIST DIR N: from the public set's list (duration<TAB>path), picks
20 recordings to register (registered.txt) and builds N items in
DIR/media with FFmpeg, listed in DIR/items.csv with what each holds in
the column expect ("W3:20.0:65.0;W7:80.0:110.0": work, start, end in the
item, seconds). Item k is of kind k % 5:

  0  unregistered music 20 s, a work 45 s, unregistered music 20 s; MP3 96 kb/s
  1  speech 15 s, a work 30 s, music 15 s, another work 30 s, speech 10 s; AAC 64 kb/s
  2  a work 40 s under pink noise (about 10 dB SNR), speech 20 s, another
     work 35 s 6 dB quieter and band-limited to 300-4000 Hz; Opus 48 kb/s
  3  music 10 s, a work 25 s, another work 25 s right after it, music 10 s; MP3 128 kb/s
  4  unregistered music 30 s, speech 20 s, music 20 s: no registered work; MP3 64 kb/s

Cuts are made with atrim, at the sample, so the expected times are exact.
Four bad items follow: a corrupt file, a missing one, one larger than the
scan's size limit, and one outside the media root.

check DIR: compares DIR/report/usages.csv with the expectations.

audit DIR: compares DIR/audit.json, a training-set audit of the items'
media files as a dataset, with the expectations: the works found, the
files each occurs in, its hours, and the registered share of the set.
"""
import concurrent.futures
import csv
import json
import os
import subprocess
import sys

REGISTERED = 20


def usable(listfile):
    """Tracks FFmpeg decodes whole, as (duration, path)."""
    tracks = []
    for line in open(listfile):
        d, p = line.rstrip("\n").split("\t", 1)
        tracks.append((float(d), p))

    def ok(t):
        r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", t[1], "-f", "null", "-"],
                           stdin=subprocess.DEVNULL, capture_output=True)
        return r.returncode == 0 and not r.stderr.strip()

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        good = [t for t, g in zip(tracks, ex.map(ok, tracks)) if g]
    return good


def speech_bed(outdir):
    """Real read speech (festvox-ru), concatenated into one 16 kHz file."""
    root = "/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav"
    wavs = sorted(f for f in os.listdir(root) if f.endswith(".wav"))[:200]
    lst = os.path.join(outdir, "speech.txt")
    with open(lst, "w") as f:
        for w in wavs:
            f.write("file '%s'\n" % os.path.join(root, w))
    bed = os.path.join(outdir, "speech.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", lst,
                    "-ar", "16000", "-ac", "1", bed], check=True)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", bed],
                         capture_output=True, text=True, check=True)
    return bed, float(out.stdout)


FMT = "asetpts=PTS-STARTPTS,aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo"


def item(k, reg, unreg, bed, bedlen):
    """Item k's parts [(path, start, duration, extra filter or '', work or None)] and encoding."""
    wa = k % REGISTERED
    wb = (k * 7 + 3) % REGISTERED
    if wb == wa:
        wb = (wb + 1) % REGISTERED
    u1 = unreg[k % len(unreg)]
    u2 = unreg[(k + 7) % len(unreg)]
    sa = 10 + k % 40           # a work's cut starts 10-49 s in (works are >= 100 s)
    sb = 5 + (k * 3) % 50
    su = 20 + k % 20           # unregistered cuts start 20-39 s in (tracks are >= 60 s)
    sp = (k * 37) % int(bedlen - 40)
    kind = k % 5
    if kind == 0:
        parts = [(u1, su, 20, "", None), (reg[wa], sa, 45, "", wa), (u2, su, 20, "", None)]
        enc = ["-c:a", "libmp3lame", "-b:a", "96k"], "mp3"
    elif kind == 1:
        parts = [(bed, sp, 15, "", None), (reg[wa], sa, 30, "", wa), (u1, su, 15, "", None),
                 (reg[wb], sb, 30, "", wb), (bed, sp + 15, 10, "", None)]
        enc = ["-c:a", "aac", "-b:a", "64k"], "m4a"
    elif kind == 2:
        parts = [(reg[wa], sa, 40, "noise", wa), (bed, sp, 20, "", None),
                 (reg[wb], sb, 35, "volume=-6dB,highpass=f=300,lowpass=f=4000", wb)]
        enc = ["-c:a", "libopus", "-b:a", "48k"], "opus"
    elif kind == 3:
        parts = [(u1, su, 10, "", None), (reg[wa], sa, 25, "", wa), (reg[wb], sb, 25, "", wb),
                 (u2, su, 10, "", None)]
        enc = ["-c:a", "libmp3lame", "-b:a", "128k"], "mp3"
    else:
        parts = [(u1, su, 30, "", None), (bed, sp, 20, "", None), (u2, su, 20, "", None)]
        enc = ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"
    return parts, enc


def render(dirpath, k, parts, enc):
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    graph = []
    for i, (p, s, d, extra, _) in enumerate(parts):
        args += ["-i", p]
        chain = "[%d:a]atrim=start=%g:duration=%g,%s" % (i, s, d, FMT)
        if extra == "noise":
            graph.append(chain + "[w%d]" % i)
            graph.append("anoisesrc=color=pink:amplitude=0.04:sample_rate=44100:duration=%g,%s[n%d]" % (d, FMT, i))
            graph.append("[w%d][n%d]amix=inputs=2:normalize=0:duration=first[p%d]" % (i, i, i))
        else:
            graph.append(chain + ("," + extra if extra else "") + "[p%d]" % i)
    graph.append("".join("[p%d]" % i for i in range(len(parts))) + "concat=n=%d:v=0:a=1" % len(parts))
    name = "item%d.%s" % (k, enc[1])
    path = os.path.join(dirpath, "media", name)
    if os.path.exists(path):  # an interrupted build goes on where it stopped
        return name
    tmp = os.path.join(dirpath, "media", ".tmp-" + name)
    args += ["-filter_complex", ";".join(graph)] + enc[0] + [tmp]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)
    os.rename(tmp, path)
    return name


def build(listfile, dirpath, n):
    good = usable(listfile)
    reg = [p for d, p in good if d >= 100][:REGISTERED]
    unreg = [p for d, p in good if d >= 60 and p not in reg]
    with open(os.path.join(dirpath, "registered.txt"), "w") as f:
        f.write("".join(p + "\n" for p in reg))
    bed, bedlen = speech_bed(dirpath)
    jobs = []
    for k in range(n):
        parts, enc = item(k, reg, unreg, bed, bedlen)
        uses, t = [], 0.0
        for p, s, d, _, w in parts:
            if w is not None:
                uses.append("W%d:%g:%g" % (w, t, t + d))
            t += d
        jobs.append((k, parts, enc, ";".join(uses)))
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        names = list(ex.map(lambda j: render(dirpath, j[0], j[1], j[2]), jobs))
    with open(os.path.join(dirpath, "items.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "media", "uploader", "views", "territory", "period", "expect"])
        for (k, _, _, uses), name in zip(jobs, names):
            w.writerow(["i%d" % k, name, "user%d" % (k % 37), k * 13, ["DE", "FR", "ES"][k % 3], "2026-11", uses])
        media = os.path.join(dirpath, "media")
        with open(os.path.join(media, "corrupt.mp3"), "wb") as c:
            c.write(os.urandom(20000))
        with open(os.path.join(media, "huge.wav"), "wb") as h:
            h.truncate(300 << 20)  # sparse: larger than the scan's --max-item-size 200M
        w.writerow(["bad-corrupt", "corrupt.mp3", "", 0, "FR", "2026-11", ""])
        w.writerow(["bad-missing", "missing.mp3", "", 0, "FR", "2026-11", ""])
        w.writerow(["bad-huge", "huge.wav", "", 0, "FR", "2026-11", ""])
        w.writerow(["bad-outside", "../registered.txt", "", 0, "FR", "2026-11", ""])
    print("built %d items (%d registered recordings, %d unregistered tracks, %.0f s of speech)"
          % (n, len(reg), len(unreg), bedlen))


def check(dirpath):
    want = {}
    for r in csv.DictReader(open(os.path.join(dirpath, "items.csv"))):
        want[r["item_id"]] = [(u.split(":")[0], float(u.split(":")[1]), float(u.split(":")[2]))
                              for u in r["expect"].split(";") if u]
    expected = sum(len(v) for v in want.values())
    found = {}  # (item, index of the expected use) -> lines
    extra, potential_extra, starts, ends, off = [], 0, [], [], []
    for u in csv.DictReader(open(os.path.join(dirpath, "report", "usages.csv"))):
        qs, qe = float(u["query_start_s"]), float(u["query_end_s"])
        match = None
        for i, (w, s, e) in enumerate(want.get(u["item_id"], [])):
            if w == u["work_id"] and qs < e and qe > s:
                match = i
        if match is None or u["status"] != "confirmed":
            if u["status"] == "confirmed":
                extra.append((u["item_id"], u["work_id"], qs, qe))
            elif match is None:
                potential_extra += 1
            continue
        found.setdefault((u["item_id"], match), []).append((qs, qe))
    once = sum(1 for v in found.values() if len(v) == 1)
    within = 0
    off_by = {}
    for (item, i), v in sorted(found.items()):
        w, s, e = want[item][i]
        qs, qe = v[0]
        starts.append(qs - s)
        ends.append(qe - e)
        if abs(qs - s) <= 1 and abs(qe - e) <= 1:
            within += 1
        else:
            off.append("  %s %s: expected %.1f-%.1f s, found %.2f-%.2f s" % (item, w, s, e, qs, qe))
            off_by.setdefault("%s %s" % (w, "start" if abs(qs - s) > 1 else "end"), []).append(item)
    print("expected uses %d, found %d (once %d), start and end within 1 s %d, confirmed lines for anything else %d, "
          "potential lines for anything else %d" % (expected, len(found), once, within, len(extra), potential_extra))
    for name, a in (("start", sorted(starts)), ("end", sorted(ends))):
        if a:
            q = lambda f: a[int(f * (len(a) - 1))]
            print("  %s error (s): min %.2f p5 %.2f median %.2f p95 %.2f max %.2f"
                  % (name, q(0), q(0.05), q(0.5), q(0.95), q(1)))
    missed = [(item, w) for item, uses in sorted(want.items()) for i, (w, s, e) in enumerate(uses)
              if (item, i) not in found]
    for item, w in missed[:20]:
        print("  missed %s %s" % (item, w))
    if off_by:
        print("  more than 1 s off, by work and edge: " + ", ".join(
            "%s %d" % (k, len(v)) for k, v in sorted(off_by.items(), key=lambda kv: -len(kv[1]))))
    for line in off[:20]:
        print(line)
    for x in extra[:20]:
        print("  extra line %s %s %.2f-%.2f s" % x)


def audit(dirpath):
    want = {}  # work -> {media file: seconds}
    total_expected = 0.0
    for r in csv.DictReader(open(os.path.join(dirpath, "items.csv"))):
        if r["item_id"].startswith("bad-"):
            continue
        for u in r["expect"].split(";"):
            if u:
                w, s, e = u.split(":")
                want.setdefault(w, {}).setdefault(r["media"], 0.0)
                want[w][r["media"]] += float(e) - float(s)
                total_expected += float(e) - float(s)
    a = json.load(open(os.path.join(dirpath, "audit.json")))
    got = {w["work_id"]: w for w in a["works"]}
    files_ok = sum(1 for w in want if w in got and sorted({os.path.basename(s["media"]) for s in got[w]["spans"]}) == sorted(want[w]))
    worst = max((abs(got[w]["played_s"] - sum(want[w].values())) / len(want[w]) for w in want if w in got), default=0)
    extra = sorted(set(got) - set(want))
    share = total_expected / (a["hours"] * 3600)
    print("audit of %d files (%d failed, %.2f h): works expected %d, found %d, with exactly the expected files %d, "
          "others %d; largest played-time error per file %.2f s; registered share %.4f (expected %.4f)"
          % (a["files"], a["files_failed"], a["hours"], len(want), len(set(want) & set(got)), files_ok, len(extra),
             worst, a["registered_share"], share))


if __name__ == "__main__":
    if sys.argv[1] == "audit":
        audit(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] == "build":
        build(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit("usage: scan-bench.py build LIST DIR N | check DIR")
