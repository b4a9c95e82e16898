package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
)

// maxIDBytes bounds a work ID: long enough for any catalogue code.
const maxIDBytes = 256

// Work is a registered work: the caller's identifiers and metadata plus
// what the store records about its print.
type Work struct {
	// ID is the caller's stable identifier (a CMO's own work code, say).
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	// ISRC identifies the recording (12 characters, stored without dashes).
	ISRC string `json:"isrc,omitempty"`
	// ISWC identifies the musical work (T-DDD.DDD.DDD-C, stored as T + 10 digits).
	ISWC string `json:"iswc,omitempty"`
	// ISAN and EIDR identify audiovisual works.
	ISAN string `json:"isan,omitempty"`
	EIDR string `json:"eidr,omitempty"`
	// Owners and their shares, in percent.
	Owners []Owner `json:"owners,omitempty"`
	// Tenant is the account that registered the work (the HTTP API's
	// access control); empty on the command line.
	Tenant string `json:"tenant,omitempty"`
	// DurationS is the duration of the registered media, in seconds.
	DurationS float64 `json:"duration_s"`
	// RegisteredAt is when the registration was committed (UTC).
	RegisteredAt time.Time `json:"registered_at"`
	// Num is the internal work number (FORMAT.md#counter).
	Num uint32 `json:"num"`
	// Peaks and Hashes count the print's spectral peaks and distinct hashes.
	Peaks  int `json:"peaks"`
	Hashes int `json:"hashes"`
	// VideoFrames counts the hashed frames of the video print (zero for a
	// work registered from audio only).
	VideoFrames int `json:"video_frames,omitempty"`
}

// SameMetadata reports whether w and o describe the work alike: ID,
// tenant, title, identifiers and owners (in order). A manifest loaded
// again skips a work whose metadata is unchanged.
func (w Work) SameMetadata(o Work) bool {
	return w.ID == o.ID && w.Tenant == o.Tenant && w.Title == o.Title && w.ISRC == o.ISRC && w.ISWC == o.ISWC &&
		w.ISAN == o.ISAN && w.EIDR == o.EIDR && slices.Equal(w.Owners, o.Owners)
}

// Owner is one rights holder of a work.
type Owner struct {
	Name string `json:"name"`
	// Role is free text: "composer", "publisher", "label", ...
	Role string `json:"role,omitempty"`
	// Share in percent, 0 to 100.
	Share float64 `json:"share"`
}

var (
	isrcRe = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$`)
	iswcRe = regexp.MustCompile(`^T[0-9]{10}$`)
	isanRe = regexp.MustCompile(`^[0-9A-F]{16}([0-9A-F]{8})?$`)
	eidrRe = regexp.MustCompile(`^10\.5240/([0-9A-F]{4}-){5}[0-9A-Z]$`)
)

// Normalize upper-cases and strips separators from the identifiers, so
// "us-rc1-76-07839" and "USRC17607839" are the same ISRC.
func (w *Work) Normalize() {
	strip := func(s string, seps string) string {
		s = strings.ToUpper(strings.TrimSpace(s))
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(seps, r) {
				return -1
			}
			return r
		}, s)
	}
	w.ID = strings.TrimSpace(w.ID)
	w.Title = strings.TrimSpace(w.Title)
	w.ISRC = strip(w.ISRC, "- ")
	w.ISWC = strip(w.ISWC, "-. ")
	w.ISAN = strings.TrimPrefix(strip(w.ISAN, "- "), "ISAN")
	if len(w.ISAN) == 17 || len(w.ISAN) == 26 { // check characters of the printed form
		w.ISAN = w.ISAN[:16] + map[bool]string{true: w.ISAN[17:25], false: ""}[len(w.ISAN) == 26]
	}
	w.EIDR = strings.ToUpper(strings.TrimSpace(w.EIDR))
}

// Validate reports every problem with the caller-given fields.
func (w Work) Validate() error {
	var errs []error
	bad := func(f string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+f, append([]any{ErrInvalidWork}, args...)...))
	}
	switch {
	case w.ID == "":
		bad("id is required")
	case len(w.ID) > maxIDBytes:
		bad("id is %d bytes, at most %d", len(w.ID), maxIDBytes)
	case !utf8.ValidString(w.ID):
		bad("id %q is not valid UTF-8", w.ID)
	case strings.IndexFunc(w.ID, unicode.IsControl) >= 0:
		bad("id %q has control characters", w.ID)
	case strings.IndexFunc(w.ID, isBidiControl) >= 0:
		// An override or isolate makes an ID display as another one.
		bad("id %q has bidirectional control characters", w.ID)
	case w.ID == "." || w.ID == "..":
		// Unreachable in a URL path (/v1/works/..): clients normalise it.
		bad("id %q is reserved", w.ID)
	}
	if strings.IndexFunc(w.Title, isBidiControl) >= 0 {
		bad("title %q has bidirectional control characters", w.Title)
	}
	if len(w.Title) > 1024 {
		bad("title is %d bytes, at most 1024", len(w.Title))
	}
	if w.ISRC != "" && !isrcRe.MatchString(w.ISRC) {
		bad("isrc %q is not CC-XXX-YY-NNNNN", w.ISRC)
	}
	if w.ISWC != "" {
		if !iswcRe.MatchString(w.ISWC) {
			bad("iswc %q is not T-DDD.DDD.DDD-C", w.ISWC)
		} else if !iswcCheck(w.ISWC) {
			bad("iswc %q has a wrong check digit", w.ISWC)
		}
	}
	if w.ISAN != "" && !isanRe.MatchString(w.ISAN) {
		bad("isan %q is not 16 or 24 hexadecimal digits", w.ISAN)
	}
	if w.EIDR != "" && !eidrRe.MatchString(w.EIDR) {
		bad("eidr %q is not 10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C", w.EIDR)
	}
	total := 0.0
	for i, o := range w.Owners {
		if strings.TrimSpace(o.Name) == "" {
			bad("owner %d has no name", i)
		}
		if o.Share < 0 || o.Share > 100 || math.IsNaN(o.Share) {
			bad("owner %q share %g, want 0 to 100", o.Name, o.Share)
		}
		total += o.Share
	}
	if total > 100.0001 {
		bad("owner shares add up to %g%%, more than 100", total)
	}
	return errors.Join(errs...)
}

// isBidiControl reports the characters that reorder displayed text
// (U+061C, U+200E-F, U+202A-E, U+2066-9).
func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// iswcCheck verifies the ISWC check digit: 1 + sum(i * d_i) mod 10, then
// (10 - r) mod 10.
func iswcCheck(s string) bool {
	sum := 1
	for i := 1; i <= 9; i++ {
		sum += i * int(s[i]-'0')
	}
	return (10-sum%10)%10 == int(s[10]-'0')
}

// Get returns the registered work with the given ID and no tenant (as
// the command line registers).
func (s *Store) Get(id string) (Work, error) { return s.GetIn("", id) }

// GetIn returns tenant's registered work with the given ID. Tenants have
// separate namespaces: another tenant's work of the same ID is not found.
func (s *Store) GetIn(tenant, id string) (Work, error) {
	return s.getByName(workName(tenant, id))
}

// getByName returns the work whose key holds name (workName).
func (s *Store) getByName(name []byte) (Work, error) {
	var w Work
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(append([]byte{prefixWork}, name...))
		if errors.Is(err, badger.ErrKeyNotFound) {
			_, id := splitWorkName(name)
			return fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return unmarshalWork(v, &w) })
	})
	return w, err
}

// GetNum returns the registered work with internal number num.
func (s *Store) GetNum(num uint32) (Work, error) {
	var name []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(numKey(prefixNum, num))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: number %d", ErrNotFound, num)
		}
		if err != nil {
			return err
		}
		name, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return Work{}, err
	}
	return s.getByName(name)
}

// Cursor returns the position of work w in List's order, to continue a
// listing after it: "tenant/id", or "/id" for a work of no tenant (tenant
// names hold no slash).
func Cursor(w Work) string { return w.Tenant + "/" + w.ID }

// List calls fn for registered works of every tenant, in key order (works
// of no tenant and tenants interleaved by name), starting after the
// position `after` (a Cursor; "" for the first), until fn returns false.
func (s *Store) List(after string, fn func(Work) bool) error {
	var start []byte
	if after != "" {
		tenant, id, ok := strings.Cut(after, "/")
		if !ok {
			tenant, id = "", after // a bare ID: a work of no tenant
		}
		start = workName(tenant, id)
	}
	return s.list(nil, start, fn)
}

// ListTenant calls fn for tenant's registered works in ID order, starting
// after the ID `after` ("" for the first), until fn returns false.
func (s *Store) ListTenant(tenant, after string, fn func(Work) bool) error {
	prefix := []byte{}
	if tenant != "" {
		prefix = workName(tenant, "")
	}
	var start []byte
	if after != "" {
		start = workName(tenant, after)
	}
	return s.list(prefix, start, func(w Work) bool {
		if w.Tenant != tenant {
			return true // a work of no tenant among tenant ""'s keys
		}
		return fn(w)
	})
}

// list iterates the work keys under prefix (a workName prefix), from the
// first after start (a workName; nil for the first).
func (s *Store) list(prefix, start []byte, fn func(Work) bool) error {
	return s.db.View(func(txn *badger.Txn) error {
		p := append([]byte{prefixWork}, prefix...)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		seek := p
		if start != nil {
			seek = append([]byte{prefixWork}, start...)
		}
		for it.Seek(seek); it.Valid(); it.Next() {
			item := it.Item()
			if start != nil && bytes.Equal(item.Key()[1:], start) {
				continue
			}
			var w Work
			if err := item.Value(func(v []byte) error { return unmarshalWork(v, &w) }); err != nil {
				return err
			}
			if !fn(w) {
				return nil
			}
		}
		return nil
	})
}

// scopeWorkKeys moves the works of a store older than FormatV5 that
// belong to a tenant under their tenant-scoped keys (FORMAT.md#work). It
// is idempotent (a crash mid-way is finished at the next open) and does
// nothing on a V5 store.
func (s *Store) scopeWorkKeys(ctx context.Context) error {
	var ver uint32
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey())
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) >= 8 {
				ver = binary.BigEndian.Uint32(v[4:])
			}
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) || (err == nil && ver >= FormatV5) {
		return nil // a new store, or already scoped
	}
	if err != nil {
		return err
	}
	type move struct {
		oldName []byte
		w       Work
	}
	var moves []move
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixWork}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			name := it.Item().KeyCopy(nil)[1:]
			if bytes.IndexByte(name, 0) >= 0 {
				continue
			}
			var w Work
			if err := it.Item().Value(func(v []byte) error { return unmarshalWork(v, &w) }); err != nil {
				return err
			}
			if w.Tenant != "" {
				moves = append(moves, move{name, w})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	const batch = 1000
	for start := 0; start < len(moves); start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, m := range moves[start:min(len(moves), start+batch)] {
				rec, err := json.Marshal(m.w)
				if err != nil {
					return err
				}
				if err := txn.Set(workKey(m.w.Tenant, m.w.ID), rec); err != nil {
					return err
				}
				if err := txn.Set(numKey(prefixNum, m.w.Num), workName(m.w.Tenant, m.w.ID)); err != nil {
					return err
				}
				if err := txn.Delete(append([]byte{prefixWork}, m.oldName...)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(moves) > 0 {
		s.log.Info("work keys scoped by tenant", "works", len(moves))
	}
	return nil
}

func unmarshalWork(v []byte, w *Work) error {
	if err := json.Unmarshal(v, w); err != nil {
		return fmt.Errorf("%w: work record: %w", ErrCorrupt, err)
	}
	return nil
}

// FormatISRC writes a stored ISRC (12 characters) in its display form,
// CC-XXX-YY-NNNNN; anything else is returned as it is.
func FormatISRC(s string) string {
	if len(s) != 12 {
		return s
	}
	return s[:2] + "-" + s[2:5] + "-" + s[5:7] + "-" + s[7:]
}

// FormatISWC writes a stored ISWC (T and 10 digits) in its display form,
// T-DDD.DDD.DDD-C; anything else is returned as it is.
func FormatISWC(s string) string {
	if len(s) != 11 {
		return s
	}
	return s[:1] + "-" + s[1:4] + "." + s[4:7] + "." + s[7:10] + "-" + s[10:]
}

// FormatOwners writes owners for people: "Name 50% (composer); Other 50%".
func FormatOwners(owners []Owner) string {
	parts := make([]string, len(owners))
	for i, o := range owners {
		parts[i] = o.Name + " " + strconv.FormatFloat(o.Share, 'f', -1, 64) + "%"
		if o.Role != "" {
			parts[i] += " (" + o.Role + ")"
		}
	}
	return strings.Join(parts, "; ")
}
