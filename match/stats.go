package match

import (
	"context"
	"sync/atomic"
)

// QueryStats counts what matching read from the index: the keys looked up
// and the postings (work, time) they held. Attach one to a context with
// WithStats; every search under that context adds to it. Its counters are
// safe for concurrent use. It measures what a query costs as the store
// grows, whatever the machine.
type QueryStats struct {
	KeysLookedUp atomic.Int64
	PostingsRead atomic.Int64
	// KeysDropped and PostingsDropped count the stop keys skipped
	// (lists longer than Params.MaxKeyPostings) and their postings.
	KeysDropped     atomic.Int64
	PostingsDropped atomic.Int64
}

type statsKey struct{}

// WithStats returns ctx with s attached (see QueryStats).
func WithStats(ctx context.Context, s *QueryStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

// countRead adds a search's reads to the QueryStats of ctx, if any.
func countRead(ctx context.Context, keys, postings int) {
	if s, _ := ctx.Value(statsKey{}).(*QueryStats); s != nil {
		s.KeysLookedUp.Add(int64(keys))
		s.PostingsRead.Add(int64(postings))
	}
}

// countDropped adds a search's stop keys to the QueryStats of ctx, if any.
func countDropped(ctx context.Context, keys, postings int) {
	if keys == 0 {
		return
	}
	if s, _ := ctx.Value(statsKey{}).(*QueryStats); s != nil {
		s.KeysDropped.Add(int64(keys))
		s.PostingsDropped.Add(int64(postings))
	}
}
