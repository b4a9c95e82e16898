// Package jsonl reads the daemon's append-only logs of JSON lines (a
// scan's events, the event log), whose last line a crash may have torn.
package jsonl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// Lines calls fn with every whole line of f from its start (the newline
// included) and where it starts, until fn returns false, and returns
// where the last line fn took ends: a line without its newline (torn by
// a crash) is not whole, and what follows the last line taken is not the
// log's. With cut, f is truncated there.
func Lines(f *os.File, cut bool, fn func(line []byte, at int64) bool) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var good int64
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return good, err
		}
		if !fn(b, good) {
			break
		}
		good += int64(len(b))
	}
	if cut {
		if fi, err := f.Stat(); err == nil && fi.Size() != good {
			if err := f.Truncate(good); err != nil {
				return good, fmt.Errorf("cut the torn end of %s: %w", f.Name(), err)
			}
		}
	}
	return good, nil
}
