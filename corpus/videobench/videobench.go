// Package videobench measures video identification on real footage: the
// clips of ../shared/corpus/README.md (Planet Blupi cutscenes, Le Biniou
// visualiser clips, OpenCV's sample videos, imageio's cockatoo), assembled
// into works of 14-80 s, half of them registered and half kept as
// unrelated footage, plus FFmpeg's synthetic sources as further negatives.
//
// Each registered work gets 10 s clips at random offsets under every
// condition of Conditions (re-encoding, scaling, crops, letterbox and
// pillarbox, logo, caption, brightness, gamma, grey, frame rate, mirror,
// and the combination of crop, 360p, caption and low-quality encoding),
// plus clips embedded between 5 s of unrelated footage. A hit is the right
// work with the reference start within 0.5 s (and, embedded, the query
// start within 0.5 s). Unrelated queries count as false positives when
// they produce any match at all.
//
// Queries are rendered with the ffmpeg program (installed by make deps):
// the condition's filters, then H.264 (CRF 23, or 38 for low quality).
package videobench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
)

// Condition is one transformation of a query clip.
type Condition struct {
	Name string
	// Filters is the FFmpeg video filter chain applied before encoding.
	Filters string
	// CRF is the H.264 quality (23 normal, 38 low).
	CRF int
	// Sound keeps the audio track; every other condition is muted, so that
	// it measures the picture alone (the sound replaced or removed).
	Sound bool
}

// caption is a burnt-in text overlay (FFmpeg's default font).
const caption = "drawtext=text='EXCLUSIVE CLIP':fontsize=h/9:fontcolor=white:borderw=2:x=(w-tw)/2:y=h*0.78"

// Conditions returns the benchmark's query conditions.
func Conditions() []Condition {
	return []Condition{
		{"clean", "", 23, false},
		{"clean_with_sound", "", 23, true},
		{"reencode_low", "", 38, false},
		{"scale_240p", "scale=-2:240", 23, false},
		{"scale_360p", "scale=-2:360", 23, false},
		{"crop_10_centre", "crop=iw*0.9:ih*0.9", 23, false},
		{"crop_15_centre", "crop=iw*0.85:ih*0.85", 23, false},
		{"crop_10_corner", "crop=iw*0.9:ih*0.9:0:0", 23, false},
		{"letterbox", "pad=iw:trunc(ih*4/3/2)*2:0:(oh-ih)/2", 23, false},
		{"pillarbox", "pad=trunc(iw*4/3/2)*2:ih:(ow-iw)/2:0", 23, false},
		{"logo", "drawbox=x=iw*0.04:y=ih*0.04:w=iw*0.2:h=ih*0.12:color=white@0.9:t=fill", 23, false},
		{"caption", caption, 23, false},
		{"brightness_contrast", "eq=brightness=0.12:contrast=1.3", 23, false},
		{"gamma", "eq=gamma=1.6", 23, false},
		{"gray", "hue=s=0", 23, false},
		{"fps_15", "fps=15", 23, false},
		{"hflip", "hflip", 23, false},
		{"combined", "crop=iw*0.9:ih*0.9,scale=-2:360," + caption, 38, false},
	}
}

// Work is one assembled video.
type Work struct {
	ID         string
	Path       string
	DurationS  float64
	Registered bool
}

// Config configures Run.
type Config struct {
	// Footage is the directory the packages were unpacked into (make deps:
	// .cache/video/x).
	Footage string
	// Dir holds the assembled works, the rendered queries and the store.
	Dir string
	// Quick renders two clips per work and condition and 40 negatives.
	Quick bool
	Seed  uint64
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// ConditionResult is the outcome of one condition.
type ConditionResult struct {
	Condition string  `json:"condition"`
	Queries   int     `json:"queries"`
	Hits      int     `json:"hits"`
	Recall    float64 `json:"recall"`
	Wrong     int     `json:"wrong_work"`
	// WrongAnswers lists the wrong-work segments, per query.
	WrongAnswers []string `json:"wrong_answers,omitempty"`
	// MeanOffsetErrorS is the mean |reported - true| reference start of
	// the hits, in seconds.
	MeanOffsetErrorS float64 `json:"mean_offset_error_s"`
	// Modalities counts the hits by segment modality.
	Modalities map[string]int `json:"modalities"`
	Misses     []string       `json:"misses,omitempty"`
}

// Results are a whole run.
type Results struct {
	Started        time.Time         `json:"started"`
	Quick          bool              `json:"quick"`
	Seed           uint64            `json:"seed"`
	Works          []Work            `json:"works"`
	Conditions     []ConditionResult `json:"conditions"`
	Negatives      int               `json:"negatives"`
	FalsePositives []string          `json:"false_positives"`
	// FingerprintSpeed is how many times real time a 720p H.264 video
	// (30 fps, 3 Mb/s) is fingerprinted (decode included) on one core.
	FingerprintSpeed float64 `json:"fingerprint_speed_720p"`
	// DecodeOnlySpeed is ffmpeg's own single-threaded decode of the same
	// file, for reference.
	DecodeOnlySpeed float64       `json:"ffmpeg_decode_speed_720p"`
	MatchP50        time.Duration `json:"match_p50_ns"`
	Elapsed         time.Duration `json:"elapsed_ns"`
}

// source lists the footage files used, by group; works are cut from them.
type group struct {
	id    string
	files []string
	sound bool
}

func groups(root string) []group {
	// Groups whose clips all carry sound keep it (so that a clean query
	// with its sound is audiovisual).
	bl := filepath.Join(root, "usr/share/planetblupi/movie")
	lb := filepath.Join(root, "usr/share/lebiniou/vue/media")
	cv := filepath.Join(root, "usr/share/doc/opencv-doc/examples/data")
	im := filepath.Join(root, "usr/lib/python3/dist-packages/imageio/resources/images")
	glob := func(dir, pat string) []string {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		slices.Sort(m)
		return m
	}
	blupi := glob(bl, "*.mkv")
	lebi := glob(lb, "*.mp4")
	var out []group
	// Planet Blupi cutscenes, 4 groups of 3-4 clips; Le Biniou, 3 of 4.
	for i, n := 0, 0; i < len(blupi); n++ {
		j := min(i+4, len(blupi))
		if n == 0 {
			j = min(i+3, len(blupi))
		}
		out = append(out, group{fmt.Sprintf("blupi-%d", n+1), blupi[i:j], true})
		i = j
	}
	for i, n := 0, 0; i < len(lebi); n++ {
		j := min(i+4, len(lebi))
		out = append(out, group{fmt.Sprintf("biniou-%d", n+1), lebi[i:j], false})
		i = j
	}
	out = append(out,
		group{"vtest", []string{filepath.Join(cv, "vtest.avi")}, false},
		group{"tree", []string{filepath.Join(cv, "tree.avi")}, false},
		group{"cockatoo", []string{filepath.Join(im, "cockatoo.mp4")}, true},
		group{"megamind", []string{filepath.Join(cv, "Megamind.avi")}, true},
	)
	return out
}

// synthetic negatives: FFmpeg's generated sources, 30 s each.
var synthetic = []struct{ id, src string }{
	{"lavfi-mandelbrot", "mandelbrot=size=640x360:rate=25"},
	{"lavfi-life", "life=size=640x360:rate=25:mold=10:ratio=0.2:death_color=#C83232:life_color=#00ff00"},
	{"lavfi-cellauto", "cellauto=size=640x360:rate=25:rule=110"},
	{"lavfi-testsrc2", "testsrc2=size=640x360:rate=25"},
}

func ffmpeg(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func probeDuration(ctx context.Context, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	var d float64
	_, err = fmt.Sscanf(strings.TrimSpace(string(out)), "%g", &d)
	return d, err
}

// speedSource renders (once) the speed test file: 720p H.264 at 30 frames
// a second and 3 Mb/s (a common web encode: x264 veryfast, 3 B-frames),
// from the Le Biniou clips, which are 30 fps footage with motion
// throughout. Frame rate matters: a decoder's cost is per frame, so a
// 10 fps source would flatter the figure threefold.
func speedSource(ctx context.Context, footage, dir string) (string, error) {
	out := filepath.Join(dir, "speed720p30.mp4")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	root, err := filepath.Abs(footage)
	if err != nil {
		return "", err
	}
	clips, _ := filepath.Glob(filepath.Join(root, "usr/share/lebiniou/vue/media/*.mp4"))
	if len(clips) == 0 {
		return "", fmt.Errorf("footage missing (run make deps): no Le Biniou clips under %s", footage)
	}
	slices.Sort(clips)
	var list strings.Builder
	for _, c := range clips {
		fmt.Fprintf(&list, "file '%s'\n", strings.ReplaceAll(c, "'", `'\''`))
	}
	listPath := filepath.Join(dir, "speed-list.txt")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		return "", err
	}
	if err := ffmpeg(ctx, "-f", "concat", "-safe", "0", "-i", listPath, "-an", "-vf", "scale=1280:720", "-r", "30",
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", out+".tmp.mp4"); err != nil {
		return "", err
	}
	return out, os.Rename(out+".tmp.mp4", out)
}

// Assemble builds the works under dir (cached: an existing file is kept).
// Even-numbered groups of each family are registered, the others are
// unrelated footage.
func Assemble(ctx context.Context, footage, dir string) ([]Work, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var works []Work
	for i, g := range groups(footage) {
		for _, f := range g.files {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("footage missing (run make deps): %w", err)
			}
		}
		out := filepath.Join(dir, g.id+".mp4")
		if _, err := os.Stat(out); err != nil {
			var args []string
			var fc strings.Builder
			for j, f := range g.files {
				args = append(args, "-i", f)
				fmt.Fprintf(&fc, "[%d:v]fps=25,setsar=1,format=yuv420p[v%d];", j, j)
				if g.sound {
					fmt.Fprintf(&fc, "[%d:a]aresample=44100,aformat=channel_layouts=stereo[a%d];", j, j)
				}
			}
			for j := range g.files {
				fmt.Fprintf(&fc, "[v%d]", j)
				if g.sound {
					fmt.Fprintf(&fc, "[a%d]", j)
				}
			}
			a := 0
			if g.sound {
				a = 1
			}
			fmt.Fprintf(&fc, "concat=n=%d:v=1:a=%d[v]", len(g.files), a)
			if g.sound {
				fc.WriteString("[a]")
			}
			args = append(args, "-filter_complex", fc.String(), "-map", "[v]")
			if g.sound {
				args = append(args, "-map", "[a]", "-c:a", "aac", "-b:a", "128k")
			} else {
				args = append(args, "-an")
			}
			args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", out+".tmp.mp4")
			if err := ffmpeg(ctx, args...); err != nil {
				return nil, err
			}
			if err := os.Rename(out+".tmp.mp4", out); err != nil {
				return nil, err
			}
		}
		d, err := probeDuration(ctx, out)
		if err != nil {
			return nil, err
		}
		works = append(works, Work{ID: g.id, Path: out, DurationS: d, Registered: i%2 == 0})
	}
	for _, s := range synthetic {
		out := filepath.Join(dir, s.id+".mp4")
		if _, err := os.Stat(out); err != nil {
			if err := ffmpeg(ctx, "-f", "lavfi", "-i", s.src, "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", out+".tmp.mp4"); err != nil {
				return nil, err
			}
			if err := os.Rename(out+".tmp.mp4", out); err != nil {
				return nil, err
			}
		}
		works = append(works, Work{ID: s.id, Path: out, DurationS: 30})
	}
	return works, nil
}

// render cuts [start, start+length) of src, applies the condition and
// encodes it to out.
func render(ctx context.Context, src string, start, length float64, c Condition, out string) error {
	args := []string{"-ss", fmt.Sprintf("%.3f", start), "-i", src, "-t", fmt.Sprintf("%.3f", length)}
	if c.Filters != "" {
		args = append(args, "-vf", c.Filters)
	}
	args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", fmt.Sprint(c.CRF), "-pix_fmt", "yuv420p")
	if c.Sound {
		args = append(args, "-c:a", "aac", "-b:a", "96k")
	} else {
		args = append(args, "-an")
	}
	args = append(args, out)
	return ffmpeg(ctx, args...)
}

// renderEmbedded puts [start, start+10) of src between 5 s of two
// unrelated videos.
func renderEmbedded(ctx context.Context, src string, start float64, before, after string, out string) error {
	fc := "[0:v]scale=640:360,setsar=1,fps=25,format=yuv420p[a];[1:v]scale=640:360,setsar=1,fps=25,format=yuv420p[b];" +
		"[2:v]scale=640:360,setsar=1,fps=25,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0[v]"
	return ffmpeg(ctx, "-t", "5", "-i", before, "-ss", fmt.Sprintf("%.3f", start), "-t", "10", "-i", src, "-ss", "2", "-t", "5", "-i", after,
		"-filter_complex", fc, "-map", "[v]", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", out)
}

// Run assembles the works, registers half of them and runs every query.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 20261121
	}
	logw := cfg.Progress
	if logw == nil {
		logw = io.Discard
	}
	logf := func(f string, a ...any) { fmt.Fprintf(logw, f+"\n", a...) }
	began := time.Now()
	res := &Results{Started: began.UTC(), Quick: cfg.Quick, Seed: cfg.Seed}
	works, err := Assemble(ctx, cfg.Footage, filepath.Join(cfg.Dir, "works"))
	if err != nil {
		return nil, err
	}
	res.Works = works

	storeDir := filepath.Join(cfg.Dir, "store")
	if err := os.RemoveAll(storeDir); err != nil {
		return nil, err
	}
	st, err := index.Open(ctx, storeDir, index.Options{Params: fingerprint.DefaultAudioParams()})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var reg, unrel []Work
	for _, w := range works {
		if !w.Registered {
			unrel = append(unrel, w)
			continue
		}
		mp, err := fingerprint.ExtractMediaFile(ctx, w.Path, st.Params(), st.VideoParams(), fingerprint.MediaOptions{})
		if err != nil {
			return nil, fmt.Errorf("register %s: %w", w.ID, err)
		}
		pr := index.Prints{Video: mp.Video.Frames}
		if mp.Audio != nil {
			pr.Audio = mp.Audio.Peaks
		}
		if _, err := st.RegisterPrints(ctx, index.Work{ID: w.ID, Title: w.ID, DurationS: w.DurationS}, pr, false, nil); err != nil {
			return nil, err
		}
		reg = append(reg, w)
		logf("registered %s (%.1f s, %d frames)", w.ID, w.DurationS, len(mp.Video.Frames))
	}
	m, err := match.New(st, match.DefaultParams(), nil)
	if err != nil {
		return nil, err
	}
	qdir := filepath.Join(cfg.Dir, "queries")
	if err := os.MkdirAll(qdir, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 5))
	perWork := 5
	if cfg.Quick {
		perWork = 2
	}
	var latencies []time.Duration
	query := func(path string) ([]match.Segment, error) {
		mp, err := fingerprint.ExtractMediaFile(ctx, path, st.Params(), st.VideoParams(),
			fingerprint.MediaOptions{Audio: fingerprint.QueryOptions(), Video: fingerprint.VideoOptions{Query: true}})
		if fingerprint.IsNoMediaContent(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		segs, err := m.MatchMedia(ctx, mp)
		latencies = append(latencies, time.Since(t0))
		return segs, err
	}
	type job struct {
		w     Work
		start float64
	}
	var jobs []job
	for _, w := range reg {
		for range perWork {
			jobs = append(jobs, job{w, math.Round(rng.Float64()*math.Max(w.DurationS-10.5, 0)*10) / 10})
		}
	}
	conds := Conditions()
	for _, c := range conds {
		t := newTally(c.Name)
		for i, j := range jobs {
			out := filepath.Join(qdir, fmt.Sprintf("%s-%02d.mp4", c.Name, i))
			if err := render(ctx, j.w.Path, j.start, 10, c, out); err != nil {
				return nil, err
			}
			segs, err := query(out)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", out, err)
			}
			t.add(j.w.ID, j.start, segs, func(s match.Segment) (float64, bool) {
				e := math.Abs(s.RefStart - (j.start + s.QueryStart))
				return e, e <= 0.5
			})
		}
		cr := t.result()
		res.Conditions = append(res.Conditions, cr)
		logf("%-20s recall %.2f (%d/%d), wrong %d", c.Name, cr.Recall, cr.Hits, cr.Queries, cr.Wrong)
	}

	// Embedded: 5 s unrelated, the clip, 5 s unrelated.
	{
		t := newTally("embedded")
		for i, j := range jobs {
			before, after := unrel[i%len(unrel)].Path, unrel[(i+1)%len(unrel)].Path
			out := filepath.Join(qdir, fmt.Sprintf("embedded-%02d.mp4", i))
			if err := renderEmbedded(ctx, j.w.Path, j.start, before, after, out); err != nil {
				return nil, err
			}
			segs, err := query(out)
			if err != nil {
				return nil, err
			}
			t.add(j.w.ID, j.start, segs, func(s match.Segment) (float64, bool) {
				e := math.Abs(s.RefStart - j.start)
				return e, e <= 0.5 && math.Abs(s.QueryStart-5) <= 0.5 && math.Abs(s.Duration()-10) <= 1
			})
		}
		cr := t.result()
		res.Conditions = append(res.Conditions, cr)
		logf("%-20s recall %.2f (%d/%d), wrong %d", "embedded", cr.Recall, cr.Hits, cr.Queries, cr.Wrong)
	}

	// Negatives: unrelated footage at random offsets, clean and under the
	// conditions, in turn.
	nNeg := 200
	if cfg.Quick {
		nNeg = 40
	}
	for i := range nNeg {
		w := unrel[i%len(unrel)]
		c := conds[i%len(conds)]
		start := math.Round(rng.Float64()*math.Max(w.DurationS-10.5, 0)*10) / 10
		out := filepath.Join(qdir, fmt.Sprintf("neg-%03d.mp4", i))
		if err := render(ctx, w.Path, start, math.Min(10, w.DurationS), c, out); err != nil {
			return nil, err
		}
		segs, err := query(out)
		if err != nil {
			return nil, err
		}
		res.Negatives++
		if len(segs) > 0 {
			res.FalsePositives = append(res.FalsePositives, fmt.Sprintf("%s@%.1f %s: %s", w.ID, start, c.Name, describe(segs)))
		}
	}
	logf("negatives: %d of %d matched", len(res.FalsePositives), res.Negatives)

	// Speed on a 720p H.264 file, against ffmpeg's own decode.
	speedSrc, err := speedSource(ctx, cfg.Footage, cfg.Dir)
	if err != nil {
		return nil, err
	}
	d, err := probeDuration(ctx, speedSrc)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := fingerprint.ExtractVideoFile(ctx, speedSrc, st.VideoParams(), fingerprint.VideoOptions{}); err != nil {
		return nil, err
	}
	res.FingerprintSpeed = d / time.Since(t0).Seconds()
	t0 = time.Now()
	if err := ffmpeg(ctx, "-threads", "1", "-i", speedSrc, "-f", "null", "-"); err != nil {
		return nil, err
	}
	res.DecodeOnlySpeed = d / time.Since(t0).Seconds()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		res.MatchP50 = latencies[len(latencies)/2]
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// tally accumulates the outcome of one condition's queries.
type tally struct {
	cr     ConditionResult
	offErr float64
}

func newTally(condition string) *tally {
	return &tally{cr: ConditionResult{Condition: condition, Modalities: map[string]int{}}}
}

// add scores one query cut from work id at start. hit says, for a
// segment of the right work, its offset error and whether it counts.
func (t *tally) add(id string, start float64, segs []match.Segment, hit func(match.Segment) (float64, bool)) {
	t.cr.Queries++
	found := false
	for _, s := range segs {
		if s.Work.ID != id {
			t.cr.Wrong++
			t.cr.WrongAnswers = append(t.cr.WrongAnswers, fmt.Sprintf("%s@%.1f: %s", id, start, describe([]match.Segment{s})))
			continue
		}
		if e, ok := hit(s); ok && !found {
			found = true
			t.offErr += e
			t.cr.Modalities[s.Modality]++
		}
	}
	if found {
		t.cr.Hits++
	} else {
		t.cr.Misses = append(t.cr.Misses, fmt.Sprintf("%s@%.1f: %s", id, start, describe(segs)))
	}
}

func (t *tally) result() ConditionResult {
	cr := t.cr
	cr.Recall = float64(cr.Hits) / float64(max(cr.Queries, 1))
	if cr.Hits > 0 {
		cr.MeanOffsetErrorS = t.offErr / float64(cr.Hits)
	}
	return cr
}

func describe(segs []match.Segment) string {
	if len(segs) == 0 {
		return "no match"
	}
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s q %.1f-%.1f ref %.1f conf %.3f", s.Work.ID, s.Modality, s.QueryStart, s.QueryEnd, s.RefStart, s.Confidence)
	}
	return b.String()
}

// Markdown renders the results as a table.
func (r *Results) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Video benchmark (seed %d%s)\n\n", r.Seed, map[bool]string{true: ", quick", false: ""}[r.Quick])
	nreg := 0
	for _, w := range r.Works {
		if w.Registered {
			nreg++
		}
	}
	fmt.Fprintf(&b, "%d registered works, %d unrelated videos; 10 s clips at random offsets. A hit: right work, reference start within 0.5 s.\n\n", nreg, len(r.Works)-nreg)
	b.WriteString("| condition | recall | hits | wrong work | mean offset error | modality of hits |\n|---|---|---|---|---|---|\n")
	for _, c := range r.Conditions {
		var mods []string
		for k, v := range c.Modalities {
			mods = append(mods, fmt.Sprintf("%s %d", k, v))
		}
		slices.Sort(mods)
		fmt.Fprintf(&b, "| %s | %.2f | %d/%d | %d | %.2f s | %s |\n", c.Condition, c.Recall, c.Hits, c.Queries, c.Wrong, c.MeanOffsetErrorS, strings.Join(mods, ", "))
	}
	fmt.Fprintf(&b, "\nUnrelated queries with any match: %d of %d.\n", len(r.FalsePositives), r.Negatives)
	for _, fp := range r.FalsePositives {
		fmt.Fprintf(&b, "- %s\n", fp)
	}
	fmt.Fprintf(&b, "\nFingerprinting a 720p H.264 video (30 fps, 3 Mb/s), decode included, one core: %.0fx real time (ffmpeg's own single-threaded decode of the file: %.0fx). Match p50 %v. Whole run %v.\n",
		r.FingerprintSpeed, r.DecodeOnlySpeed, r.MatchP50.Round(time.Millisecond), r.Elapsed.Round(time.Second))
	for _, c := range r.Conditions {
		if len(c.Misses) > 0 {
			fmt.Fprintf(&b, "\nMisses, %s:\n", c.Condition)
			for _, m := range c.Misses {
				fmt.Fprintf(&b, "- %s\n", m)
			}
		}
		if len(c.WrongAnswers) > 0 {
			fmt.Fprintf(&b, "\nWrong-work answers, %s:\n", c.Condition)
			for _, m := range c.WrongAnswers {
				fmt.Fprintf(&b, "- %s\n", m)
			}
		}
	}
	return b.String()
}

// Write stores video.json and video.md in dir.
func (r *Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "video.json"), j, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "video.md"), []byte(r.Markdown()), 0o644)
}
