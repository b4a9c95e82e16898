package monitor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// loop streams an MP3 programme in real time, over and over, each
// connection from its own place in it (stations playing different
// things).
type loop struct {
	mp3 []byte
}

func (l *loop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "audio/mpeg")
	rc := http.NewResponseController(w)
	off, _ := strconv.Atoi(r.URL.Query().Get("at"))
	pos := off * mp3BytesPerS % len(l.mp3)
	start, sent := time.Now(), 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		due := int(time.Since(start).Seconds() * mp3BytesPerS)
		for sent < due {
			n := min(due-sent, len(l.mp3)-pos)
			if _, err := w.Write(l.mp3[pos : pos+n]); err != nil {
				return
			}
			sent, pos = sent+n, (pos+n)%len(l.mp3)
		}
		_ = rc.Flush()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMonitors runs CUEPRINT_MONITORS monitors (default 8) on
// real-time streams of registered and unregistered music for
// CUEPRINT_MONITOR_S seconds (default 60), and reports the CPU one
// monitor takes (a share of one core) and how many one core holds, with
// the plays they heard and how far behind real time the slowest fell.
//
//	CUEPRINT_MONITORS=32 go test ./server/monitor -run - -bench Monitors -benchtime 1x
func BenchmarkMonitors(b *testing.B) {
	n, secs := 8, 60
	if v, err := strconv.Atoi(os.Getenv("CUEPRINT_MONITORS")); err == nil {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("CUEPRINT_MONITOR_S")); err == nil {
		secs = v
	}
	media.RouteLogs(slog.New(slog.DiscardHandler), slog.LevelError+4)
	tr := tracks(b, 6)
	ctx := context.Background()
	p := fingerprint.DefaultAudioParams()
	st, err := index.Open(ctx, b.TempDir(), index.Options{Params: p})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i, x := range tr[:3] {
		ap, err := fingerprint.ExtractFile(ctx, x.Path, p, fingerprint.ExtractOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Register(ctx, index.Work{ID: fmt.Sprintf("W%d", i+1), DurationS: ap.Duration.Seconds()}, ap.Peaks, false); err != nil {
			b.Fatal(err)
		}
	}
	var parts []part
	for _, x := range tr {
		parts = append(parts, part{path: x.Path, startS: 30, length: 40})
	}
	srv := httptest.NewServer(&loop{mp3: render(b, parts)})
	defer srv.Close()
	mp := match.DefaultParams()
	mp.HopSeconds, mp.Live = HopS, true
	mm, err := match.New(st, mp, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := &recorder{clock: clock{t0: time.Now()}}
	for b.Loop() {
		m, err := Open(Config{Dir: b.TempDir(), Matcher: mm, Record: rec.record, MinConfidence: 0.95, Segment: api.NewSegment,
			Open: func(ctx context.Context, url string) (io.ReadCloser, error) {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return nil, err
				}
				return resp.Body, nil
			}})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := m.Add(api.MonitorRequest{URL: fmt.Sprintf("%s/?at=%d", srv.URL, i*37), Name: fmt.Sprint("station ", i)}, "", true); err != nil {
				b.Fatal(err)
			}
		}
		cpu0, t0 := cpuTime(), time.Now()
		time.Sleep(time.Duration(secs) * time.Second)
		cpu, wall := cpuTime()-cpu0, time.Since(t0)
		behind := 0.0
		for _, mon := range m.List("", true) {
			behind = max(behind, wall.Seconds()-mon.Status.HeardS)
		}
		m.Close()
		share := cpu.Seconds() / wall.Seconds() / float64(n)
		b.ReportMetric(100*share, "%core/monitor")
		b.ReportMetric(1/share, "monitors/core")
		b.ReportMetric(float64(len(rec.of(eventPlayStarted))), "plays")
		b.ReportMetric(behind, "s-behind-max")
	}
}
