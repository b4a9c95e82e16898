package scan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/server/api"
)

// ItemResult is one item of a scan and what its processing found.
type ItemResult struct {
	Line int
	Item api.ScanItem
	// Done is false for an item not processed yet.
	Done      bool
	DurationS float64
	Err       *api.ScanError
	Usages    []api.Usage
}

// Results is a scan and its items' outcomes, read from the scan's files
// as Each goes: what a report is built from.
type Results struct {
	Scan api.Scan
	// Columns names the list's extra columns, in the list's order.
	Columns []string
	each    func(fn func(ItemResult) error) error
}

// NewResults returns the results of a scan whose items' outcomes are
// items, in list order (reports of scans built elsewhere, tests).
func NewResults(sc api.Scan, columns []string, items []ItemResult) Results {
	return Results{Scan: sc, Columns: columns, each: func(fn func(ItemResult) error) error {
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		return nil
	}}
}

// Each calls fn with every item's outcome, in list order, and stops at
// fn's first error, which it returns; an item or an event that cannot be
// read back (the scan deleted meanwhile, a disk error) is an error too.
func (r Results) Each(fn func(ItemResult) error) error {
	if r.each == nil {
		return nil
	}
	return r.each(fn)
}

// Results returns scan id with access to every item's outcome.
func (m *Manager) Results(id string) (Results, error) {
	s, err := m.get(id)
	if err != nil {
		return Results{}, err
	}
	return m.results(s), nil
}

// results returns s's results as they are now: the items done later
// (s running) are not in them, however often they are read.
func (m *Manager) results(s *scanState) Results {
	s.mu.Lock()
	sc, states := s.snapshotLocked(), slices.Clone(s.st)
	s.mu.Unlock()
	return Results{Scan: sc, Columns: s.h.Columns, each: func(fn func(ItemResult) error) error {
		r, err := m.files.openReader(s.h.ID)
		if err != nil {
			return err
		}
		defer r.Close()
		for i, st := range states {
			it, err := r.item(s.itemAt[i], s.itemAt[i+1])
			if err != nil {
				return fmt.Errorf("scan %s: %w", s.h.ID, err)
			}
			res := ItemResult{Line: i + 1, Item: it, Done: st.done, DurationS: st.durS}
			if st.done && st.uses != 0 {
				ev, err := r.event(st.at, int(st.n))
				if err != nil {
					return fmt.Errorf("scan %s: %w", s.h.ID, err)
				}
				res.Err, res.Usages = ev.Err, ev.Usages
			}
			if err := fn(res); err != nil {
				return err
			}
		}
		return nil
	}}
}

// AllResults returns the results of every scan f allows (Tenant, All),
// oldest first: a report over a period spans scans.
func (m *Manager) AllResults(f Filter) []Results {
	var out []Results
	for _, s := range m.all() {
		if f.All || s.h.Tenant == f.Tenant {
			out = append(out, m.results(s))
		}
	}
	return out
}

// Filter selects usage lines. Empty fields select everything; From and
// To (YYYY-MM-DD) select the lines whose item's usage period overlaps
// them.
type Filter struct {
	ScanID, WorkID, Owner, ItemID, Status string
	From, To                              string
	// Tenant is the caller's: only its own scans are seen unless All.
	Tenant string
	All    bool
}

// Validate checks the filter's values.
func (f Filter) Validate() error {
	for _, d := range []string{f.From, f.To} {
		if d != "" {
			if _, _, err := ParsePeriod(d); err != nil || len(d) != 10 {
				return fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalid, d)
			}
		}
	}
	if f.Status != "" && f.Status != StatusConfirmed && f.Status != StatusPotential {
		return fmt.Errorf("%w: status %q: want %s or %s", ErrInvalid, f.Status, StatusConfirmed, StatusPotential)
	}
	return nil
}

// Match reports whether u passes the filter (its scan aside).
func (f Filter) Match(u api.Usage) bool {
	switch {
	case f.WorkID != "" && u.WorkID != f.WorkID,
		f.ItemID != "" && u.ItemID != f.ItemID,
		f.Status != "" && u.Status != f.Status:
		return false
	case f.From != "" && (u.PeriodEnd == "" || u.PeriodEnd < f.From),
		f.To != "" && (u.PeriodStart == "" || u.PeriodStart > f.To):
		return false
	}
	if f.Owner != "" {
		return slices.ContainsFunc(u.Owners, func(o api.Owner) bool { return strings.EqualFold(o.Name, f.Owner) })
	}
	return true
}

// Usages returns up to limit usage lines passing f, in scan order, then
// item, then start; after is the previous page's next token ("" for the
// first page), and next is "" on the last page.
func (m *Manager) Usages(f Filter, after string, limit int) (out []api.Usage, next string, err error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	var afterScan string
	afterLine, afterK := 0, -1
	if after != "" {
		parts := strings.Split(after, ":")
		var e1, e2 error
		if len(parts) == 3 {
			afterScan = parts[0]
			afterLine, e1 = strconv.Atoi(parts[1])
			afterK, e2 = strconv.Atoi(parts[2])
		}
		if len(parts) != 3 || e1 != nil || e2 != nil {
			return nil, "", fmt.Errorf("%w: after %q is not a page token", ErrInvalid, after)
		}
	}
	out = []api.Usage{}
	pg := page{skipping: after != "", afterLine: afterLine, afterK: afterK, limit: limit}
	for _, s := range m.all() {
		if f.ScanID != "" && s.h.ID != f.ScanID || !f.All && s.h.Tenant != f.Tenant {
			continue
		}
		if pg.skipping && s.h.ID != afterScan {
			continue
		}
		from := 0
		if pg.skipping {
			from = max(0, min(afterLine-1, len(s.st)))
		}
		full, err := m.usagesOf(s, f, from, &pg, &out)
		if err != nil {
			return nil, "", err
		}
		if full {
			return out, pg.last, nil
		}
		pg.skipping = false
	}
	if after != "" && pg.skipping {
		return nil, "", fmt.Errorf("%w: after %q names no scan (deleted?)", ErrInvalid, after)
	}
	return out, "", nil
}

// page is where a page of usage lines is: the lines it skips (up to
// item afterLine's line afterK, while skipping), its size, and the token
// of its last line.
type page struct {
	skipping          bool
	afterLine, afterK int
	limit             int
	last              string
}

// usagesOf appends to *out the usage lines of s passing f, from item
// index from on; full is true when a line was left for the next page.
func (m *Manager) usagesOf(s *scanState, f Filter, from int, pg *page, out *[]api.Usage) (full bool, err error) {
	var r *reader
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	for i := from; i < len(s.st); i++ {
		s.mu.Lock()
		st := s.st[i]
		s.mu.Unlock()
		if !st.done || st.uses <= 0 {
			continue
		}
		if r == nil {
			if r, err = m.files.openReader(s.h.ID); err != nil {
				return false, err
			}
		}
		ev, err := r.event(st.at, int(st.n))
		if err != nil {
			return false, fmt.Errorf("scan %s: %w", s.h.ID, err)
		}
		for k, u := range ev.Usages {
			if pg.skipping {
				if i+1 > pg.afterLine || i+1 == pg.afterLine && k > pg.afterK {
					pg.skipping = false
				} else {
					continue
				}
			}
			if !f.Match(u) {
				continue
			}
			if len(*out) == pg.limit {
				return true, nil
			}
			*out = append(*out, u)
			pg.last = fmt.Sprintf("%s:%d:%d", s.h.ID, i+1, k)
		}
	}
	return false, nil
}
