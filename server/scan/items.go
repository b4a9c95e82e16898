package scan

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cueprint/cueprint/server/api"
)

// ErrInvalidList marks a scan's item list that cannot be scanned at all
// (no header, a missing item id, a duplicate): the caller's error, named
// with its line.
var ErrInvalidList = errors.New("invalid item list")

// MaxItems bounds a scan's list.
const MaxItems = 10_000_000

// maxListErrors bounds the row errors one refusal lists.
const maxListErrors = 20

// columns maps the list's known column names (and their aliases, lower
// case) to the item's fields. Any other column is kept in Extra.
var columns = map[string]string{
	"item_id": "item_id", "id": "item_id", "platform_item_id": "item_id",
	"media": "media", "path": "media", "url": "media", "file": "media",
	"uploader": "uploader", "title": "title",
	"views": "views", "plays": "views",
	"territory":    "territory",
	"period":       "period",
	"period_start": "period_start", "period_end": "period_end",
}

var territoryRe = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseCSV reads a scan's item list: a header row naming the columns
// (item_id and media required; uploader, title, views or plays,
// territory, period or period_start and period_end optional; any other
// column kept as it is), then one item per row. It returns the items and
// the names of the extra columns in their order. Every bad row is named
// (up to 20) in one error.
func ParseCSV(r io.Reader) ([]api.ScanItem, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: empty list (want a header row: item_id,media,...)", ErrInvalidList)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
	}
	field := make([]string, len(head))
	var extra []string
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		name := strings.ToLower(h)
		f, known := columns[name]
		switch {
		case h == "":
			return nil, nil, fmt.Errorf("%w: header column %d has no name", ErrInvalidList, i+1)
		case known && seen[f]:
			return nil, nil, fmt.Errorf("%w: header names %q twice (or an alias of it)", ErrInvalidList, f)
		case known:
			field[i], seen[f] = f, true
		case seen["extra:"+h]:
			return nil, nil, fmt.Errorf("%w: header names %q twice", ErrInvalidList, h)
		default:
			field[i], seen["extra:"+h] = "extra:"+h, true
			extra = append(extra, h)
		}
	}
	if !seen["item_id"] || !seen["media"] {
		return nil, nil, fmt.Errorf("%w: the header must name item_id and media (it has %s)", ErrInvalidList, strings.Join(head, ","))
	}
	var items []api.ScanItem
	var errs []error
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(head) {
			errs = append(errs, fmt.Errorf("line %d: %d columns, the header has %d", line, len(rec), len(head)))
			continue
		}
		var it api.ScanItem
		for i, v := range rec {
			v = strings.TrimSpace(v)
			switch f := field[i]; f {
			case "item_id":
				it.ItemID = v
			case "media":
				it.Media = v
			case "uploader":
				it.Uploader = v
			case "title":
				it.Title = v
			case "territory":
				it.Territory = v
			case "views":
				if v == "" {
					continue
				}
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					errs = append(errs, fmt.Errorf("line %d: views %q is not a whole number", line, v))
				}
				it.Views = n
			case "period":
				if v == "" {
					continue
				}
				s, e, err := ParsePeriod(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("line %d: %v", line, err))
				}
				it.PeriodStart, it.PeriodEnd = s, e
			case "period_start":
				it.PeriodStart = v
			case "period_end":
				it.PeriodEnd = v
			default:
				if v != "" {
					if it.Extra == nil {
						it.Extra = map[string]string{}
					}
					it.Extra[strings.TrimPrefix(f, "extra:")] = v
				}
			}
		}
		items = append(items, it)
		if len(items) > MaxItems {
			return nil, nil, fmt.Errorf("%w: more than %d items", ErrInvalidList, MaxItems)
		}
	}
	if err := ValidateItems(items, 2); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, nil, listError(errs)
	}
	return items, extra, nil
}

// ExtraColumns returns the names of the extra fields of items, sorted: the
// columns of a list that came as JSON.
func ExtraColumns(items []api.ScanItem) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		for k := range it.Extra {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ValidateItems checks items and normalises them in place (territory upper
// case, periods as dates). first is the line number of items[0] in the
// list, for the errors (2 for a CSV with its header, 1 for JSON).
func ValidateItems(items []api.ScanItem, first int) error {
	if len(items) == 0 {
		return fmt.Errorf("%w: no items", ErrInvalidList)
	}
	if len(items) > MaxItems {
		return fmt.Errorf("%w: %d items, at most %d", ErrInvalidList, len(items), MaxItems)
	}
	var errs []error
	ids := make(map[string]int, len(items))
	for i := range items {
		it := &items[i]
		line := first + i
		bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("line %d: "+f, append([]any{line}, a...)...)) }
		it.ItemID, it.Media = strings.TrimSpace(it.ItemID), strings.TrimSpace(it.Media)
		switch {
		case it.ItemID == "":
			bad("item_id is empty")
		case len(it.ItemID) > 512 || !utf8.ValidString(it.ItemID) || strings.ContainsAny(it.ItemID, "\t\n\r"):
			bad("item_id %.40q is longer than 512 bytes, not UTF-8, or holds a tab or line break", it.ItemID)
		default:
			if prev, dup := ids[it.ItemID]; dup {
				bad("item_id %q already on line %d", it.ItemID, prev)
			}
			ids[it.ItemID] = line
		}
		if it.Media == "" {
			bad("media is empty")
		}
		if it.Views < 0 {
			bad("views %d is negative", it.Views)
		}
		if it.Territory != "" {
			t := strings.ToUpper(it.Territory)
			if strings.EqualFold(t, "worldwide") {
				t = "Worldwide"
			} else if !territoryRe.MatchString(t) {
				bad("territory %q is not an ISO 3166-1 alpha-2 code or Worldwide", it.Territory)
			}
			it.Territory = t
		}
		for _, p := range []*string{&it.PeriodStart, &it.PeriodEnd} {
			if *p == "" {
				continue
			}
			if _, err := time.Parse(time.DateOnly, *p); err != nil {
				bad("period date %q is not YYYY-MM-DD", *p)
			}
		}
		if it.PeriodStart != "" && it.PeriodEnd != "" && it.PeriodEnd < it.PeriodStart {
			bad("period ends (%s) before it starts (%s)", it.PeriodEnd, it.PeriodStart)
		}
		if it.PeriodStart != "" && it.PeriodEnd == "" {
			it.PeriodEnd = it.PeriodStart
		}
		if it.PeriodEnd != "" && it.PeriodStart == "" {
			it.PeriodStart = it.PeriodEnd
		}
		if len(errs) >= maxListErrors {
			break
		}
	}
	if len(errs) > 0 {
		return listError(errs)
	}
	return nil
}

// ParsePeriod reads a usage period: a year (2026), a month (2026-11), a
// day (2026-11-05) or a range of days (2026-11-01--2026-11-15), and
// returns its first and last days.
func ParsePeriod(s string) (start, end string, err error) {
	if a, b, ok := strings.Cut(s, "--"); ok {
		if _, e1 := time.Parse(time.DateOnly, a); e1 != nil {
			return "", "", fmt.Errorf("period %q: %q is not YYYY-MM-DD", s, a)
		}
		if _, e2 := time.Parse(time.DateOnly, b); e2 != nil {
			return "", "", fmt.Errorf("period %q: %q is not YYYY-MM-DD", s, b)
		}
		return a, b, nil
	}
	for _, f := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{time.DateOnly, func(t time.Time) time.Time { return t }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, -1) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, -1) }},
	} {
		if t, err := time.Parse(f.layout, s); err == nil {
			return t.Format(time.DateOnly), f.next(t).Format(time.DateOnly), nil
		}
	}
	return "", "", fmt.Errorf("period %q is not YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD--YYYY-MM-DD", s)
}

func listError(errs []error) error {
	if len(errs) > maxListErrors {
		errs = append(errs[:maxListErrors], fmt.Errorf("and more"))
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = strings.TrimPrefix(e.Error(), ErrInvalidList.Error()+": ")
	}
	return fmt.Errorf("%w: %s", ErrInvalidList, strings.Join(msgs, "; "))
}
