package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultMinFreeBytes is the free disk space below which a store refuses
// writes (Options.MinFreeBytes).
//
// Badger writes through memory-mapped files: its write-ahead log, the
// tables a memtable flush builds and the tables a compaction builds before
// it deletes their inputs. A page of such a file that the filesystem
// cannot back when it is first touched kills the process with SIGBUS; no
// error reaches the caller. So the store must stop accepting writes while
// Badger still has room for everything it may write without being asked:
// the current write-ahead log (up to memTableBytes), one flushed memtable,
// and an L0-to-L1 compaction, which rewrites up to five L0 tables of
// memtable size plus the L1 tables they overlap (10 MB by Badger's level
// sizing) before removing the old ones. That is about 130 MB; the default
// doubles it, because a postings rewrite of a work in a large store is
// larger than its own print and because other programs share the disk.
const DefaultMinFreeBytes = 256 << 20

// MinMinFreeBytes is the smallest reserve Options accepts: what Badger may
// write on its own after the last accepted write (see
// DefaultMinFreeBytes), below which the guard could not prevent a crash.
const MinMinFreeBytes = 8*memTableBytes + 16<<20

// memTableBytes is Badger's memtable size for a store on disk: the unit in
// which registrations are flushed to L0 tables.
const memTableBytes = 16 << 20

// ErrInsufficientStorage reports a write refused because the store's disk
// has less free space than the reserve, or because the store was opened
// read-only for that reason. Nothing was written.
var ErrInsufficientStorage = errors.New("index: insufficient storage")

// ErrReadOnly reports a write to a store opened read-only on request.
var ErrReadOnly = errors.New("index: store is read-only")

// SpaceError is the error of a write refused for lack of disk space: it
// wraps ErrInsufficientStorage and says how much was free and needed.
type SpaceError struct {
	Dir       string
	FreeBytes int64
	// NeedBytes is the reserve plus the write's own estimated size.
	NeedBytes int64
	// OpenedReadOnly is set when the store was opened read-only because
	// its disk was already below the reserve: it stays read-only until
	// it is opened again.
	OpenedReadOnly bool
	// NotCreated is set when a new store was not created for lack of
	// space.
	NotCreated bool
}

func (e *SpaceError) Error() string {
	if e.OpenedReadOnly {
		return fmt.Sprintf("%v: store %s was opened read-only with %s free on its disk, below the reserve of %s; free space and reopen it",
			ErrInsufficientStorage, e.Dir, formatBytes(e.FreeBytes), formatBytes(e.NeedBytes))
	}
	if e.NotCreated {
		return fmt.Sprintf("%v: %s free on the disk of %s, below the reserve of %s: no store created there",
			ErrInsufficientStorage, formatBytes(e.FreeBytes), e.Dir, formatBytes(e.NeedBytes))
	}
	return fmt.Sprintf("%v: %s free on the disk of store %s, %s needed (the reserve and this write)",
		ErrInsufficientStorage, formatBytes(e.FreeBytes), e.Dir, formatBytes(e.NeedBytes))
}

func (e *SpaceError) Unwrap() error { return ErrInsufficientStorage }

// formatBytes prints n in binary units, as an operator reads df -h.
func formatBytes(n int64) string {
	const unit = 1 << 10
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// freeBytes returns the free space on the store's disk; -1 when unknown
// (in memory, or statfs failed: then the guard does not refuse).
func (s *Store) freeBytes() int64 {
	if s.dir == "" {
		return -1
	}
	free, err := s.freeSpace(s.dir)
	if err != nil {
		return -1
	}
	return free
}

// checkSpace refuses a write of about need bytes when it would leave less
// than the reserve free. It also refuses every write to a read-only store.
func (s *Store) checkSpace(need int64) error {
	if s.readOnly {
		if s.lowSpaceAtOpen >= 0 {
			return &SpaceError{Dir: s.dir, FreeBytes: s.lowSpaceAtOpen, NeedBytes: s.minFree, OpenedReadOnly: true}
		}
		return fmt.Errorf("%w: %s", ErrReadOnly, s.dir)
	}
	if s.minFree <= 0 {
		return nil
	}
	free := s.freeBytes()
	if free < 0 {
		return nil
	}
	if free < s.minFree+need {
		s.refusedWrites.Add(1)
		s.refusedNeed.Store(s.minFree + need)
		return &SpaceError{Dir: s.dir, FreeBytes: free, NeedBytes: s.minFree + need}
	}
	if need > 0 {
		s.refusedNeed.Store(0)
	}
	return nil
}

// lowDisk reports whether writes are being refused for space: the disk is
// below the reserve, or the last write was refused and the space it
// needed has not appeared since. free is the current free space (-1:
// unknown).
func (s *Store) lowDisk(free int64) bool {
	if s.lowSpaceAtOpen >= 0 {
		return true
	}
	if s.minFree <= 0 || free < 0 {
		return false
	}
	return free < s.minFree || free < s.refusedNeed.Load()
}

// CheckWritable reports whether a write would be accepted now: nil, or the
// error the write would get (ErrInsufficientStorage, ErrReadOnly,
// ErrClosed). Callers that must do costly work before writing (decoding
// an upload) ask first.
func (s *Store) CheckWritable() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.checkSpace(0)
}

// existingDir returns dir, or its nearest existing ancestor when it does
// not exist yet (the filesystem a new store will be created on).
func existingDir(dir string) string {
	d, _ := filepath.Abs(dir)
	for {
		if _, err := os.Stat(d); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return d
		}
		d = parent
	}
}

// Exists reports whether dir holds a store (Badger's MANIFEST), without
// opening or creating anything.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "MANIFEST"))
	return err == nil
}

// restrictPermissions makes the store's directory 0700 and its files 0600:
// it holds rights data and the API key ring. New files get the process's
// umask (the command line sets 077); files made by an older build or
// another umask are tightened here.
func restrictPermissions(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), info.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}
