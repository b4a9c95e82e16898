package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// MigrateStats describes what Migrate did.
type MigrateStats struct {
	// From is the format the store had; equal to FormatCurrent when there
	// was nothing to do.
	From uint32
	// Works is how many registered works had their postings completed,
	// and Keys how many postings keys they were added to.
	Works, Keys int
}

// Migrate brings the store in dir to FormatCurrent in place, from what it
// holds: a store of format 5 or earlier gets the triplet keys of every
// registered work's forward print (FORMAT.md#postings), then the current
// meta record. No media is needed. progress, when not nil, is called
// after each work with the works done and the total.
//
// Migration is idempotent: a run cut short (kill -9, full disk) leaves
// the store refused with ErrNeedsMigration, and the next run finishes it,
// adding each work's keys again (which rewrites them as they were). The
// works and their pair postings are not touched, so nothing registered is
// lost at any point. A store already current is left as it is.
func Migrate(ctx context.Context, dir string, o Options, progress func(done, total int)) (MigrateStats, error) {
	o.migrate = true
	o.ReadOnly = false
	s, err := Open(ctx, dir, o)
	if err != nil {
		return MigrateStats{}, err
	}
	st, err := s.migrate(ctx, progress)
	return st, errors.Join(err, s.Close())
}

func (s *Store) migrate(ctx context.Context, progress func(done, total int)) (MigrateStats, error) {
	st := MigrateStats{From: FormatCurrent}
	if s.oldFormat == 0 {
		return st, nil
	}
	if s.readOnly {
		return st, fmt.Errorf("migrate %s: %w", s.dir, s.CheckWritable())
	}
	st.From = s.oldFormat
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	nums := s.live.ToArray()
	s.mu.RUnlock()
	for i, num := range nums {
		peaks, err := s.forwardPrint(num)
		switch {
		case errors.Is(err, ErrNotFound):
			// A video-only work: no audio keys.
		case err != nil:
			return st, fmt.Errorf("migrate %s: work number %d: %w", s.dir, num, err)
		default:
			groups := groupKeys(tripletKeys(s.params, peaks))
			if err := s.checkSpace(writeEstimate(len(groups), 0)); err != nil {
				return st, fmt.Errorf("migrate %s: %w", s.dir, err)
			}
			if err := s.updatePostings(ctx, num, groups); err != nil {
				return st, fmt.Errorf("migrate %s: work number %d: %w", s.dir, num, err)
			}
			st.Works++
			st.Keys += len(groups)
		}
		if progress != nil {
			progress(i+1, len(nums))
		}
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(metaKey(), metaRecord(s.params.Hash(), s.video.Hash()))
	}); err != nil {
		return st, fmt.Errorf("migrate %s: meta record: %w", s.dir, err)
	}
	s.oldFormat = 0
	return st, nil
}
