package index

import (
	"os"
	"path/filepath"
)

// removeEmptyMemtables deletes the empty write-ahead log files (*.mem of
// zero bytes) in dir. Badger creates a memtable's file and then sizes it;
// a process killed between the two leaves a file of zero bytes, which
// holds no write (Badger writes its header first, and only to a sized
// file) and which Badger then refuses to open ("Create a new file"),
// making the whole store unopenable. Only a read-write open calls this.
func removeEmptyMemtables(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() != 0 || !fi.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
