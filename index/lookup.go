package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/cueprint/cueprint/fingerprint"
)

// checkContextEveryNLookups is how often a postings scan looks at ctx.
const checkContextEveryNLookups = 256

// Postings calls fn for each of the hashes (sorted ascending, distinct)
// that has postings, with the live works holding it and, for each, its
// anchor times in whole frames. The slices are reused between calls.
// Looking the keys up in order lets Badger walk its tables forward.
func (s *Store) Postings(ctx context.Context, hashes []uint32, fn func(hash uint32, works []uint32, times [][]uint32)) error {
	s.mu.RLock()
	live := s.live.Clone()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	var pl postingList
	return s.db.View(func(txn *badger.Txn) error {
		for i, h := range hashes {
			if i%checkContextEveryNLookups == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item, err := txn.Get(postingsKey(h))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := item.Value(func(v []byte) error { return decodePostings(v, &pl, live) }); err != nil {
				return fmt.Errorf("postings of hash %d: %w", h, err)
			}
			if len(pl.works) > 0 {
				fn(h, pl.works, pl.times)
			}
		}
		return nil
	})
}

// Peaks returns the forward print of live work number num.
func (s *Store) Peaks(num uint32) ([]fingerprint.Peak, error) {
	if !s.IsLive(num) {
		return nil, fmt.Errorf("%w: number %d", ErrNotFound, num)
	}
	var peaks []fingerprint.Peak
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(numKey(prefixForward, num))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: number %d", ErrNotFound, num)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			p, err := fingerprint.DecodePeaks(v)
			if err != nil {
				return fmt.Errorf("%w: forward print of work %d: %w", ErrCorrupt, num, err)
			}
			peaks = p
			return nil
		})
	})
	return peaks, err
}
