package server

import (
	"context"
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// errBusy: the server is at capacity; the request is refused with 429.
var errBusy = errors.New("server: at capacity")

// errKeyBusy: one API key has as many uploads or streams under way as it
// may; 429 too, but it says so.
var errKeyBusy = errors.New("server: too many uploads or streams under way for this API key")

// limiter bounds the work in the system: admission tickets (workers plus
// queue), worker slots (CPU work), receiving slots (request bodies being
// read, all keys and per key) and streaming matches (all keys and per
// key).
//
// A request takes a receiving slot while its body arrives, and an
// admission ticket only once the body is in: a slow client costs a
// connection and some memory, never a place in the queue. A streaming
// match takes its stream slot once its first bytes have arrived.
type limiter struct {
	admit   chan struct{}
	work    chan struct{}
	streams chan struct{}
	uploads chan struct{}
	m       *metrics

	mu               sync.Mutex
	uploadsPerKey    map[string]int
	streamsPerKey    map[string]int
	maxUploadsPerKey int
	maxStreamsPerKey int
}

func newLimiter(cfg Config, m *metrics) *limiter {
	return &limiter{
		admit:            make(chan struct{}, cfg.Workers+cfg.QueueDepth),
		work:             make(chan struct{}, cfg.Workers),
		streams:          make(chan struct{}, cfg.MaxStreams),
		uploads:          make(chan struct{}, cfg.MaxUploads),
		m:                m,
		uploadsPerKey:    map[string]int{},
		streamsPerKey:    map[string]int{},
		maxUploadsPerKey: cfg.MaxUploadsPerKey,
		maxStreamsPerKey: cfg.MaxStreamsPerKey,
	}
}

// ticketKey marks a context whose request holds an admission ticket.
type ticketKey struct{}

func withTicket(ctx context.Context) context.Context {
	return context.WithValue(ctx, ticketKey{}, true)
}

func hasTicket(ctx context.Context) bool { v, _ := ctx.Value(ticketKey{}).(bool); return v }

// enter admits a request or reports errBusy at once. The caller must call
// the returned leave.
func (l *limiter) enter() (leave func(), err error) {
	select {
	case l.admit <- struct{}{}:
	default:
		l.m.rejected.WithLabelValues("queue_full").Inc()
		return nil, errBusy
	}
	l.m.queued.Inc()
	return func() {
		l.m.queued.Dec()
		<-l.admit
	}, nil
}

// do runs fn in a worker slot, waiting for one until ctx ends. A request
// admitted with a ticket (withTicket) counts as queued while it waits and
// not while it works; work without one (bulk jobs, streams) is not
// counted as queued at all.
func (l *limiter) do(ctx context.Context, fn func() error) error {
	select {
	case l.work <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	queued := hasTicket(ctx)
	if queued {
		l.m.queued.Dec()
	}
	l.m.inflight.Inc()
	defer func() {
		l.m.inflight.Dec()
		if queued {
			l.m.queued.Inc()
		}
		<-l.work
	}()
	return fn()
}

// take takes one of a key's places in perKey (at most max), or reports
// false.
func (l *limiter) take(perKey map[string]int, key string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if perKey[key] >= max {
		return false
	}
	perKey[key]++
	return true
}

func (l *limiter) give(perKey map[string]int, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if perKey[key]--; perKey[key] <= 0 {
		delete(perKey, key)
	}
}

// receive takes a receiving slot for a body sent with API key keyID, or
// reports errBusy (all slots taken) or errKeyBusy (the key's taken).
// release is safe to call twice.
func (l *limiter) receive(keyID string) (release func(), err error) {
	return l.acquire(l.uploads, l.uploadsPerKey, l.maxUploadsPerKey, keyID, "uploads_full", l.m.receiving)
}

// stream admits a streaming match for API key keyID or reports errBusy
// or errKeyBusy at once.
func (l *limiter) stream(keyID string) (leave func(), err error) {
	return l.acquire(l.streams, l.streamsPerKey, l.maxStreamsPerKey, keyID, "streams_full", l.m.streams)
}

// acquire takes a place in slots and one of keyID's places in perKey (at
// most maxPerKey), counting it in gauge; full is the rejection reason
// when slots are full ("key_" + full when the key's places are).
func (l *limiter) acquire(slots chan struct{}, perKey map[string]int, maxPerKey int, keyID, full string, gauge prometheus.Gauge) (func(), error) {
	if !l.take(perKey, keyID, maxPerKey) {
		l.m.rejected.WithLabelValues("key_" + full).Inc()
		return nil, errKeyBusy
	}
	select {
	case slots <- struct{}{}:
	default:
		l.give(perKey, keyID)
		l.m.rejected.WithLabelValues(full).Inc()
		return nil, errBusy
	}
	gauge.Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			gauge.Dec()
			<-slots
			l.give(perKey, keyID)
		})
	}, nil
}

// overloaded reports whether no request could be admitted now.
func (l *limiter) overloaded() bool { return len(l.admit) == cap(l.admit) }
