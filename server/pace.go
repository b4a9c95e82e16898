package server

import (
	"context"
	"time"
)

// streamPrefixBytes is how much of a streaming match's body must arrive
// before the stream takes one of Config.MaxStreams: 16 KiB is one to four
// seconds of compressed audio, and more than a trickling client sends in
// a BodyStallTimeout window at the minimum rate it is held to.
const streamPrefixBytes = 16 << 10

// pacer holds a stream's decoding to speed times real time once burst
// seconds of media are through: media time t may be reached no sooner
// than (t - burst) / speed after the stream began. It is safe for
// concurrent use (the sound and the picture are decoded in two
// goroutines); it only reads its fields.
type pacer struct {
	start        time.Time
	speed, burst float64
}

func newPacer(speed float64, burst time.Duration) *pacer {
	return &pacer{start: time.Now(), speed: speed, burst: burst.Seconds()}
}

// wait blocks until media time mediaS (seconds) may be decoded, or ctx
// ends. Blocking the decoder stops it reading the body, so TCP flow
// control slows the client down: no buffer grows.
func (p *pacer) wait(ctx context.Context, mediaS float64) error {
	ahead := (mediaS-p.burst)/p.speed - time.Since(p.start).Seconds()
	if ahead <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(ahead * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
