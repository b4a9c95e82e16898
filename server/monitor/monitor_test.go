package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// speedup runs the test's clock this many times faster than real time:
// the programme is served, and the monitor's clock runs, at that pace.
const speedup = 4

// clock is a clock running speedup times faster than real time.
type clock struct{ t0 time.Time }

func (c clock) now() time.Time { return c.t0.Add(time.Since(c.t0) * speedup) }

// programme is an MP3 stream at a constant 128 kb/s (16,000 bytes a
// second), so a second of it is a fixed byte range.
type programme struct {
	mp3   []byte
	clock clock
	// drop, when set, cuts the connections open at that stream second
	// (once).
	drop     float64
	dropped  atomic.Bool
	conns    atomic.Int32
	silenceS float64
}

const mp3BytesPerS = 16000

// ServeHTTP streams the programme as a live station does: from where it
// is now, paced to the clock, without an end (silence once it is over).
func (p *programme) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.conns.Add(1)
	w.Header().Set("Content-Type", "audio/mpeg")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	pos := int(p.clock.now().Sub(p.clock.t0).Seconds() * mp3BytesPerS)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		upTo := min(int(p.clock.now().Sub(p.clock.t0).Seconds()*mp3BytesPerS), len(p.mp3))
		if p.drop > 0 && float64(upTo)/mp3BytesPerS >= p.drop && !p.dropped.Swap(true) {
			return // the station drops the connection
		}
		if upTo <= pos {
			continue
		}
		if _, err := w.Write(p.mp3[pos:upTo]); err != nil {
			return
		}
		_ = rc.Flush()
		pos = upTo
	}
}

// part is a stretch of the programme: an excerpt of a track, or silence.
type part struct {
	path           string
	startS, length float64
	filters        string
}

func render(t testing.TB, parts []part) []byte {
	t.Helper()
	var pcm []float32
	for _, p := range parts {
		if p.path == "" {
			pcm = append(pcm, make([]float32, int(p.length*degrade.WorkRateHz))...)
			continue
		}
		x, err := degrade.Load(context.Background(), degrade.Excerpt{Path: p.path, StartS: p.startS, LengthS: p.length}, p.filters)
		require.NoError(t, err)
		var peak float32
		for _, v := range x {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		for i := range x {
			x[i] *= 0.7 / max(peak, 1e-6)
		}
		pcm = append(pcm, x...)
	}
	b, err := media.EncodeAudio(context.Background(), pcm, degrade.WorkRateHz, media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000})
	require.NoError(t, err)
	return b
}

func tracks(t testing.TB, n int) []publicset.Track {
	t.Helper()
	out, err := publicset.Decodable(n, 120)
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	require.Len(t, out, n)
	return out
}

// recorder keeps the events the monitor records.
type recorder struct {
	mu    sync.Mutex
	evs   []recorded
	clock clock
}

type recorded struct {
	typ  string
	play api.Play
	at   time.Time // when it was recorded, by the test's clock
}

func (r *recorder) record(typ, _, _ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var p api.Play
	_ = json.Unmarshal(b, &p)
	r.mu.Lock()
	r.evs = append(r.evs, recorded{typ, p, r.clock.now()})
	r.mu.Unlock()
	return nil
}

func (r *recorder) of(typ string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, e := range r.evs {
		if e.typ == typ {
			out = append(out, e)
		}
	}
	return out
}

// TestMonitorPlays: a station plays unregistered music, two registered
// songs (one 3 % fast, cut by a jingle), more music and silence, and
// drops the connection in the middle of the first song. The monitor reconnects,
// reports each song once, started within 15 s of its start and ended
// within 15 s of its end (stream time), with start and end within 2 s,
// and nothing else.
func TestMonitorPlays(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of programme")
	}
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	tr := tracks(t, 4)
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	st, err := index.Open(ctx, t.TempDir(), index.Options{Params: p})
	require.NoError(t, err)
	defer st.Close()
	for i, x := range tr[:2] {
		ap, err := fingerprint.ExtractFile(ctx, x.Path, p, fingerprint.ExtractOptions{})
		require.NoError(t, err)
		_, err = st.Register(ctx, index.Work{ID: fmt.Sprintf("W%d", i+1), Title: x.Name(), DurationS: ap.Duration.Seconds()}, ap.Peaks, false)
		require.NoError(t, err)
	}
	mp := match.DefaultParams()
	mp.HopSeconds, mp.Live = HopS, true
	mm, err := match.New(st, mp, nil)
	require.NoError(t, err)

	// Stream seconds: 0-20 other music, 20-60 W1 (from its 30 s), 60-80
	// other music, 80-115 W2 at speed 1.03 (from its 20 s) with a 4 s
	// jingle at 95 s in its place, 115-130 other music, then silence.
	prog := &programme{drop: 40, mp3: render(t, []part{
		{path: tr[2].Path, startS: 40, length: 20},
		{path: tr[0].Path, startS: 30, length: 40},
		{path: tr[3].Path, startS: 30, length: 20},
		{path: tr[1].Path, startS: 20, length: 15 * 1.03, filters: "asetrate=45423,aresample=44100"},
		{path: tr[3].Path, startS: 70, length: 4}, // a jingle over it
		{path: tr[1].Path, startS: 20 + 19*1.03, length: 16 * 1.03, filters: "asetrate=45423,aresample=44100"},
		{path: tr[2].Path, startS: 90, length: 15},
		{length: 120},
	})}
	prog.clock = clock{t0: time.Now()}
	srv := httptest.NewServer(prog)
	defer srv.Close()

	rec := &recorder{clock: prog.clock}
	m, err := Open(Config{
		Dir: t.TempDir(), Matcher: mm, Record: rec.record, MinConfidence: 0.95, Segment: api.NewSegment, Now: prog.clock.now,
		Open: func(ctx context.Context, url string) (io.ReadCloser, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		},
		Backoff: func(int) time.Duration { return 200 * time.Millisecond },
	})
	require.NoError(t, err)
	defer m.Close()
	mon, err := m.Add(api.MonitorRequest{URL: srv.URL, Name: "Test FM", Territory: "fr"}, "", true)
	require.NoError(t, err)
	require.Equal(t, "FR", mon.Territory)

	require.Eventually(t, func() bool { return len(rec.of(eventPlayEnded)) >= 2 }, 90*time.Second, 100*time.Millisecond)
	// Past the programme's end, nothing more.
	time.Sleep(20 * time.Second / speedup)
	started, ended := rec.of(eventPlayStarted), rec.of(eventPlayEnded)
	require.Len(t, started, 2, "one play each")
	require.Len(t, ended, 2)
	require.GreaterOrEqual(t, int(prog.conns.Load()), 2, "reconnected after the drop")
	t0 := prog.clock.t0
	at := func(ts time.Time) float64 { return ts.Sub(t0).Seconds() }
	want := []struct {
		work       string
		start, end float64
		speed      float64
	}{{"W1", 20, 60, 1}, {"W2", 80, 115, 1.03}}
	for i, w := range want {
		s, e := started[i].play, ended[i].play
		require.Equal(t, w.work, s.Work.ID)
		require.Equal(t, s.ID, e.ID, "the play that started is the one that ended")
		require.Equal(t, "ended", e.EndReason)
		require.Equal(t, "Test FM", e.Station)
		require.InDelta(t, w.start, at(e.StartedAt), 2, "%s start", w.work)
		require.InDelta(t, w.end, at(*e.EndedAt), 2, "%s end", w.work)
		require.InDelta(t, w.speed, e.Work.Speed, 0.005, "%s speed", w.work)
		require.InDelta(t, w.end-w.start, e.PlayedS, 3)
		require.Less(t, at(started[i].at)-w.start, 15.0, "%s announced within 15 s of its start", w.work)
		require.Less(t, at(ended[i].at)-w.end, 15.0, "%s closed within 15 s of its end", w.work)
		t.Logf("%s: started %.1f s (announced at %.1f s), ended %.1f s (closed at %.1f s), played %.1f s",
			w.work, at(e.StartedAt), at(started[i].at), at(*e.EndedAt), at(ended[i].at), e.PlayedS)
	}
	got, err := m.Get(mon.ID)
	require.NoError(t, err)
	require.Equal(t, api.MonitorSilent, got.Status.State, "the programme is over: silence")
	require.GreaterOrEqual(t, got.Status.Reconnects, 1)
	require.Empty(t, got.Status.Playing)
	require.NoError(t, m.Remove(mon.ID))
	_, err = os.Stat(m.playingPath(mon.ID))
	require.ErrorIs(t, err, os.ErrNotExist)
}
