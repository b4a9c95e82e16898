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

// Results is a scan with its items' outcomes: what a report is built
// from.
type Results struct {
	Scan api.Scan
	// Columns names the list's extra columns, in the list's order.
	Columns []string
	Items   []ItemResult
}

// Results returns scan id with every item's outcome.
func (m *Manager) Results(id string) (Results, error) {
	s, err := m.get(id)
	if err != nil {
		return Results{}, err
	}
	return s.results(), nil
}

func (s *scanState) results() Results {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Results{Scan: s.snapshotLocked(), Columns: s.h.Columns, Items: make([]ItemResult, len(s.items))}
	var errAt map[int]*api.ScanError
	if len(s.errs) > 0 {
		errAt = make(map[int]*api.ScanError, len(s.errs))
		for i := range s.errs {
			errAt[s.errs[i].Line] = &s.errs[i]
		}
	}
	for i, it := range s.items {
		r.Items[i] = ItemResult{Line: i + 1, Item: it, Done: s.done[i], DurationS: s.durS[i], Err: errAt[i+1], Usages: s.uses[i]}
	}
	return r
}

// AllResults returns the results of every scan f allows (Tenant, All),
// oldest first: a report over a period spans scans.
func (m *Manager) AllResults(f Filter) []Results {
	var out []Results
	for _, s := range m.all() {
		if f.All || s.h.Tenant == f.Tenant {
			out = append(out, s.results())
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
	skipping := after != ""
	for _, s := range m.all() {
		if f.ScanID != "" && s.h.ID != f.ScanID || !f.All && s.h.Tenant != f.Tenant {
			continue
		}
		if skipping && s.h.ID != afterScan {
			continue
		}
		s.mu.Lock()
		for i, us := range s.uses {
			for k, u := range us {
				if skipping {
					if i+1 > afterLine || i+1 == afterLine && k > afterK {
						skipping = false
					} else {
						continue
					}
				}
				if !f.Match(u) {
					continue
				}
				if len(out) == limit {
					s.mu.Unlock()
					last := out[len(out)-1]
					return out, fmt.Sprintf("%s:%d:%d", last.ScanID, last.Line, lastIndex(s.uses[last.Line-1], last.ID)), nil
				}
				out = append(out, u)
			}
		}
		s.mu.Unlock()
		skipping = false
	}
	if after != "" && skipping {
		return nil, "", fmt.Errorf("%w: after %q names no scan (deleted?)", ErrInvalid, after)
	}
	return out, "", nil
}

func lastIndex(us []api.Usage, id string) int {
	return slices.IndexFunc(us, func(u api.Usage) bool { return u.ID == id })
}
