package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how long work is going: a bar on a terminal, a line
// every interval otherwise (a log file, a CI job), and a last line at
// the end either way.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	bar      *progressbar.ProgressBar // nil: periodic lines
	label    string
	total    int
	last     time.Time
	interval time.Duration
}

// newProgress returns a progress of total steps written to w.
func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, interval: 10 * time.Second} // the first set is shown at once
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(), progressbar.OptionSetWidth(30))
	}
	return p
}

// set moves the progress to done steps; detail says more (errors, rate).
func (p *progress) set(done int, detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(p.label + " " + detail)
		_ = p.bar.Set(done)
		return
	}
	if time.Since(p.last) >= p.interval || done == p.total {
		p.last = time.Now()
		if p.total <= 0 {
			fmt.Fprintf(p.w, "%s: %s\n", p.label, detail)
			return
		}
		fmt.Fprintf(p.w, "%s: %d/%d %s\n", p.label, done, p.total, detail)
	}
}

// printf writes a line (a failure, say) above the bar, or among the
// periodic lines.
func (p *progress) printf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, format, a...)
}

// finish ends the bar's line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// mediaProgress shows how far the decoding of a long file has got, in
// seconds of media: a bar on a terminal, a line every 10 s otherwise.
// Media shorter than a minute shows nothing.
type mediaProgress struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	p     *progress
}

// update is a media.AudioOptions.Progress.
func (m *mediaProgress) update(decoded, declared time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil {
		if declared < time.Minute && decoded < time.Minute {
			return
		}
		total := int(declared.Seconds())
		if total <= 0 {
			total = -1 // unknown: a spinner
		}
		m.p = newProgress(m.w, m.label, total)
	}
	m.p.set(int(decoded.Seconds()), fmt.Sprintf("%v of media decoded", decoded.Round(time.Second)))
}

// finish ends the bar, if one was shown.
func (m *mediaProgress) finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p != nil {
		m.p.finish()
	}
}

// phaseProgress shows a run of phases (a benchmark's registration, then
// its queries), a progress each, one after the other.
type phaseProgress struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	phase string
	p     *progress
}

// step moves phase to done of total, starting its progress if new.
func (ph *phaseProgress) step(phase string, done, total int) {
	ph.mu.Lock()
	if phase != ph.phase {
		if ph.p != nil {
			ph.p.finish()
		}
		ph.phase, ph.p = phase, newProgress(ph.w, ph.label+" "+phase, total)
	}
	p := ph.p
	ph.mu.Unlock()
	p.set(done, "")
}

// finish ends the last phase's bar.
func (ph *phaseProgress) finish() {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.p != nil {
		ph.p.finish()
	}
}
