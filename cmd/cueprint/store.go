package main

import (
	"context"
	"flag"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// defaultDB is the store directory when --db is not given.
const defaultDB = "./cueprint-data"

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB, "store `directory` (created if missing)")
}

// openStore opens the store with the default fingerprint parameters.
func openStore(ctx context.Context, e *env, dir string) (*index.Store, error) {
	return index.Open(ctx, dir, index.Options{Params: fingerprint.DefaultAudioParams(), Logger: e.log})
}
