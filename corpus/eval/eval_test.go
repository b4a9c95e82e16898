package eval_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/corpus/eval"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
)

func TestMain(m *testing.M) {
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	os.Exit(m.Run())
}

// fixture is a store holding every other decodable track of the public
// set; the rest are the unregistered negatives.
type fixture struct {
	store      *index.Store
	matcher    *match.Matcher
	registered []publicset.Track
	ids        []string
	unregs     []publicset.Track
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tracks, err := publicset.Default()
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	ctx := context.Background()
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: fingerprint.DefaultAudioParams()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st}
	for i, tr := range tracks {
		if publicset.Undecodable(tr) {
			ap, err := fingerprint.ExtractFile(ctx, tr.Path, st.Params(), fingerprint.ExtractOptions{})
			assert.ErrorIs(t, err, media.ErrUnsupportedMedia, "%s is one of FFmpeg 5.1's known failures", tr.Path)
			assert.Nil(t, ap)
			continue
		}
		if i%2 == 1 {
			f.unregs = append(f.unregs, tr)
			continue
		}
		ap, err := fingerprint.ExtractFile(ctx, tr.Path, st.Params(), fingerprint.ExtractOptions{})
		require.NoError(t, err)
		id := fmt.Sprintf("w%02d-%s", i, tr.Name())
		_, err = st.Register(ctx, index.Work{ID: id, Title: tr.Name(), DurationS: ap.Duration.Seconds()}, ap.Peaks, false)
		require.NoError(t, err)
		f.registered = append(f.registered, tr)
		f.ids = append(f.ids, id)
	}
	f.matcher, err = match.New(st, match.DefaultParams(), nil)
	require.NoError(t, err)
	return f
}

// TestIdentifyDegradedExcerpts is the accuracy test on real music:
// 5 and 10 s excerpts at random offsets of registered tracks, under each
// degradation, must name the right work with the reference offset within
// 0.2 s; unregistered music, speech, noise and silence must match nothing.
func TestIdentifyDegradedExcerpts(t *testing.T) {
	f := newFixture(t)
	mp3 := &media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 64000}
	// Floors of top-1 recall per condition for 10 s and 5 s queries: the
	// figures measured when these tests were written, less a margin of
	// one or two queries; they guard against regressions. The benchmark
	// (cueprint bench) reports the actual figures.
	conds := []struct {
		c             degrade.Condition
		min10s, min5s float64
	}{
		{degrade.Condition{Name: "clean", Speed: 1}, 1, 0.95},
		{degrade.Condition{Name: "mp3-64k", Codec: mp3, Speed: 1}, 1, 0.95},
		{degrade.Condition{Name: "white-5dB", Noise: degrade.NoiseWhite, SNRdB: 5, Speed: 1}, 0.9, 0.6},
		{degrade.Condition{Name: "pink-5dB", Noise: degrade.NoisePink, SNRdB: 5, Speed: 1}, 0.85, 0.6},
		{degrade.Phone(), 0.95, 0.9},
		{degrade.Speed(0.97), 0.95, 0.9},
		{degrade.Speed(1.03), 0.95, 0.9},
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	var qs []eval.Query
	for _, cd := range conds {
		for i, tr := range f.registered {
			if testing.Short() && i%3 != 0 {
				continue
			}
			for _, length := range []float64{5, 10} {
				qs = append(qs, eval.Query{
					WorkID: f.ids[i], Kind: "positive", Cond: cd.c, Seed: rng.Uint64(),
					Excerpt: degrade.Excerpt{Path: tr.Path, StartS: rng.Float64() * (tr.DurationS - length - 1), LengthS: length},
				})
			}
		}
	}
	speech, err := publicset.Speech(30)
	require.NoError(t, err)
	for _, tr := range f.unregs {
		for range 2 {
			qs = append(qs, eval.Query{Kind: "music", Cond: degrade.Condition{Name: "neg-music"},
				Excerpt: degrade.Excerpt{Path: tr.Path, StartS: rng.Float64() * (tr.DurationS - 11), LengthS: 10}})
		}
	}
	for _, p := range speech {
		qs = append(qs, eval.Query{Kind: "speech", Cond: degrade.Condition{Name: "neg-speech"}, Excerpt: degrade.Excerpt{Path: p, LengthS: 10}})
	}
	for k := range 5 {
		// Noise alone: speech at -60 dB under white noise; silence: the
		// same at +60 dB of a near-silent signal (no noise added).
		qs = append(qs, eval.Query{Kind: "noise", Cond: degrade.Condition{Name: "neg-noise", Noise: degrade.NoiseWhite, SNRdB: -60}, Seed: uint64(k),
			Excerpt: degrade.Excerpt{Path: speech[k], LengthS: 10}})
		qs = append(qs, eval.Query{Kind: "silence", Cond: degrade.Condition{Name: "neg-silence", Filters: "volume=0"},
			Excerpt: degrade.Excerpt{Path: speech[k], LengthS: 10}})
	}

	outs := eval.Run(context.Background(), f.matcher, f.store.Params(), qs, 0)
	for _, o := range outs {
		require.NoError(t, o.Err, "query %s %s", o.Query.Cond.Name, o.Query.Excerpt.Path)
	}
	key := func(o eval.Outcome) string {
		if o.Query.WorkID == "" {
			return o.Query.Cond.Name
		}
		return fmt.Sprintf("%s/%.0fs", o.Query.Cond.Name, o.Query.Excerpt.LengthS)
	}
	for _, s := range eval.Summarize(outs, key) {
		t.Logf("%-18s n=%3d recall=%.3f wrong=%.3f fp=%.3f offset-err p50=%.3fs p95=%.3fs match p50=%.0fms",
			s.Group, s.Queries, s.Recall, s.WrongWorkRate, s.FalsePositiveRate, s.OffsetErrMedianS, s.OffsetErrP95S, s.MatchLatencyMedianMS)
	}
	for _, o := range outs {
		if o.Query.WorkID == "" {
			assert.False(t, o.Matched, "%s query %s@%.1f matched %v", o.Query.Kind, o.Query.Excerpt.Path, o.Query.Excerpt.StartS, o.Segments)
			continue
		}
		assert.False(t, o.WrongWork, "%s %s@%.1f: named another work %v", o.Query.Cond.Name, o.Query.WorkID, o.Query.Excerpt.StartS, o.Segments)
	}
	for _, cd := range conds {
		for _, length := range []float64{5, 10} {
			var n, ok int
			var misses []string
			for _, o := range outs {
				if o.Query.Cond.Name == cd.c.Name && o.Query.Excerpt.LengthS == length && o.Query.WorkID != "" {
					n++
					if o.Correct {
						ok++
					} else {
						got := "nothing"
						if len(o.Segments) > 0 {
							b := o.Segments[0]
							got = fmt.Sprintf("%s ref %.2f-%.2f at q %.2f score %d conf %.2f", b.Work.ID, b.RefStart, b.RefEnd, b.QueryStart, b.Score, b.Confidence)
						}
						misses = append(misses, fmt.Sprintf("%s@%.3f (got %s)", o.Query.WorkID, o.Query.Excerpt.StartS, got))
					}
				}
			}
			want := cd.min10s
			if length == 5 {
				want = cd.min5s
			}
			if testing.Short() {
				// A third of the queries (8 per cell): a recall floor of
				// 0.95 would allow no miss at all. Short runs are a smoke
				// test and allow one miss more than the floor does; full
				// runs hold the floors.
				allowed := int(math.Ceil((1-want)*float64(n)-1e-9)) + 1
				want = float64(n-allowed) / float64(n)
			}
			assert.GreaterOrEqual(t, float64(ok)/float64(n), want, "%s %0.fs: recall %d/%d, missed %s", cd.c.Name, length, ok, n, strings.Join(misses, " "))
		}
	}
}

// TestSeveralWorksInOneQuery: a "DJ mix" of three registered excerpts
// back to back gives three segments, in query order, each with the right
// work, start and duration.
func TestSeveralWorksInOneQuery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var mix []float32
	type part struct {
		id           string
		qStart, rOff float64
	}
	var parts []part
	for k, i := range []int{1, 4, 7} {
		tr := f.registered[i]
		start := 20.0 + 5*float64(k)
		pcm, err := degrade.Load(ctx, degrade.Excerpt{Path: tr.Path, StartS: start, LengthS: 15}, "")
		require.NoError(t, err)
		parts = append(parts, part{id: f.ids[i], qStart: float64(len(mix)) / degrade.WorkRateHz, rOff: start})
		mix = append(mix, pcm...)
	}
	b, err := media.EncodeAudio(ctx, mix, degrade.WorkRateHz, media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000})
	require.NoError(t, err)
	ap, err := fingerprint.ExtractReader(ctx, bytes.NewReader(b), "mix.mp3", f.store.Params(), fingerprint.ExtractOptions{})
	require.NoError(t, err)
	segs, err := f.matcher.Match(ctx, ap)
	require.NoError(t, err)
	for _, s := range segs {
		t.Logf("%s q=%.2f-%.2f r=%.2f-%.2f score=%d conf=%.3f", s.Work.ID, s.QueryStart, s.QueryEnd, s.RefStart, s.RefEnd, s.Score, s.Confidence)
	}
	require.Len(t, segs, 3, "segments: %+v", segs)
	for k, s := range segs {
		assert.Equal(t, parts[k].id, s.Work.ID)
		assert.InDelta(t, parts[k].qStart, s.QueryStart, 1.0, "segment %d start", k)
		assert.InDelta(t, 15, s.Duration(), 2.0, "segment %d duration", k)
		assert.InDelta(t, parts[k].rOff, s.RefStart-(s.QueryStart-parts[k].qStart), 0.2, "segment %d reference offset", k)
		assert.InDelta(t, 1, s.Speed, 0.01)
	}

	// Streamed, the same segments come out, each before the query ends.
	st := f.matcher.NewStream()
	var streamed []match.Segment
	var emittedAt []float32
	sp, err := fingerprint.StreamReader(ctx, bytes.NewReader(b), "mix.mp3", f.store.Params(), fingerprint.ExtractOptions{},
		func(peaks []fingerprint.Peak, horizon float32) error {
			segs, err := st.Add(ctx, peaks, horizon)
			for range segs {
				emittedAt = append(emittedAt, horizon)
			}
			streamed = append(streamed, segs...)
			return err
		})
	require.NoError(t, err)
	assert.Equal(t, ap.Frames, sp.Frames)
	rest, err := st.Close(ctx, sp.Frames)
	require.NoError(t, err)
	assert.Equal(t, segs, append(streamed, rest...), "streaming gives the segments of the whole query")
	require.NotEmpty(t, emittedAt, "a segment is confirmed before the stream ends")
	// The first work ends at 15 s; it is final once a window starting
	// more than a hop after its end has been searched (20-40 s).
	assert.Less(t, float64(emittedAt[0])*f.store.Params().FrameDuration(), 42.0, "the first work (0-15 s) is reported before the 45 s query ends")
}
