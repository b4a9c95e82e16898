package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cueprint/cueprint/index"
)

// runMigrate converts a store of an earlier format in place, from the
// prints it holds (index.Migrate): no media is needed, and a run cut short
// is finished by the next.
func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "migrate", "migrate --db DIR")
	sf := addStoreFlags(fs)
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	if err := storeDirExists(sf.db); err != nil {
		return err
	}
	o, err := storeOptions(e, sf)
	if err != nil {
		return err
	}
	start := time.Now()
	last := start
	st, err := index.Migrate(ctx, sf.db, o, func(done, total int) {
		if now := time.Now(); now.Sub(last) >= 5*time.Second || done == total {
			last = now
			fmt.Fprintf(e.stderr, "migrate %s: %d of %d works\n", sf.db, done, total)
		}
	})
	if err != nil {
		return err
	}
	if st.From == index.FormatCurrent {
		fmt.Fprintf(e.stderr, "%s is already at format %d: nothing to do\n", sf.db, index.FormatCurrent)
		return nil
	}
	fmt.Fprintf(e.stderr, "migrated %s from format %d to %d: %d works, %d keys added, in %v\n", sf.db, st.From, index.FormatCurrent,
		st.Works, st.Keys, time.Since(start).Round(time.Millisecond))
	return nil
}
