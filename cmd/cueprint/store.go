package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
)

// defaultDB is the store directory when --db is not given.
const defaultDB = "./cueprint-data"

// storeFlags are the flags of every command that opens a store.
type storeFlags struct {
	db      string
	minFree byteSize
	// postingsMemory bounds the daemon's in-memory postings (serve's
	// --postings-memory; 0: the index's default).
	postingsMemory byteSize
}

// dbFlag is the --db flag of commands that do not open the index (keys).
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", defaultDB, "store `directory`, or $CUEPRINT_DB (only register, serve and keys create make one)")
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	sf := &storeFlags{minFree: index.DefaultMinFreeBytes}
	fs.StringVar(&sf.db, "db", defaultDB, "store `directory`, or $CUEPRINT_DB (only register, serve and keys create make one)")
	fs.Var(&sf.minFree, "min-free", fmt.Sprintf("free disk `space` writes must leave on the store's disk (at least %s; -1 disables the guard);\n"+
		"below it writes are refused and a store is opened read-only", formatByteSize(index.MinMinFreeBytes)))
	return sf
}

// openStore opens the store with the default fingerprint parameters,
// creating it only when create is set (register, serve): a command that
// only reads says a mistyped --db holds no store rather than answering
// from a new empty one. The files it creates are the owner's alone: a
// store holds rights data, and Badger creates its files through the
// process's umask.
func openStore(ctx context.Context, e *env, sf *storeFlags, create bool) (*index.Store, error) {
	if !create {
		if err := storeDirExists(sf.db); err != nil {
			return nil, err
		}
	}
	o, err := storeOptions(e, sf)
	if err != nil {
		return nil, err
	}
	return index.Open(ctx, sf.db, o)
}

// storeOptions returns the index options of the store flags.
func storeOptions(e *env, sf *storeFlags) (index.Options, error) {
	syscall.Umask(0o077)
	o := index.Options{Params: fingerprint.DefaultAudioParams(), Logger: e.log, MinFreeBytes: int64(sf.minFree),
		PostingsMemoryBytes: int64(sf.postingsMemory)}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("%w: --min-free: %v", errUsage, err)
	}
	return o, nil
}

// storeDirExists reports, as an error, a --db that holds no store.
func storeDirExists(dir string) error {
	if index.Exists(dir) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "keys.json")); err == nil {
		return nil
	}
	return fmt.Errorf("no store at %s (check --db; a store is created by cueprint register, serve or keys create)", dir)
}
