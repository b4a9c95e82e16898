package main

import (
	"context"
	"fmt"
	"time"
)

// runCompact rewrites the store's tables, dropping the superseded versions
// of postings that registering works one by one leaves behind.
func runCompact(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "compact", "compact --db DIR")
	sf := addStoreFlags(fs)
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: compact takes no arguments", errUsage)
	}
	st, err := openStore(ctx, e, sf, false)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	before := st.SizeBytes()
	if err := st.Compact(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "compacted %s: %.1f MB -> %.1f MB in %v\n", sf.db,
		float64(before)/1e6, float64(st.SizeBytes())/1e6, time.Since(start).Round(time.Millisecond))
	return nil
}
