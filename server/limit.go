package server

import (
	"context"
	"errors"
)

// errBusy: the server is at capacity; the request is refused with 429.
var errBusy = errors.New("server: at capacity")

// limiter bounds the work in the system: admission tickets (workers plus
// queue), worker slots (CPU work) and streaming matches.
type limiter struct {
	admit   chan struct{}
	work    chan struct{}
	streams chan struct{}
	m       *metrics
}

func newLimiter(workers, queue, streams int, m *metrics) *limiter {
	return &limiter{
		admit:   make(chan struct{}, workers+queue),
		work:    make(chan struct{}, workers),
		streams: make(chan struct{}, streams),
		m:       m,
	}
}

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

// do runs fn in a worker slot, waiting for one until ctx ends. queued
// says the caller holds an admission ticket (and so counts as queued
// while it does not work).
func (l *limiter) do(ctx context.Context, queued bool, fn func() error) error {
	select {
	case l.work <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
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

// stream admits a streaming match or reports errBusy at once.
func (l *limiter) stream() (leave func(), err error) {
	select {
	case l.streams <- struct{}{}:
	default:
		l.m.rejected.WithLabelValues("streams_full").Inc()
		return nil, errBusy
	}
	l.m.streams.Inc()
	return func() {
		l.m.streams.Dec()
		<-l.streams
	}, nil
}

// overloaded reports whether no request could be admitted now.
func (l *limiter) overloaded() bool { return len(l.admit) == cap(l.admit) }
