package report

import (
	"cmp"
	"encoding/csv"
	"io"
	"slices"
	"strconv"

	"github.com/cueprint/cueprint/server/api"
)

// WorkTotal sums a work's uses.
type WorkTotal struct {
	WorkID string `json:"work_id"`
	Tenant string `json:"tenant,omitempty"`
	Title  string `json:"title,omitempty"`
	ISRC   string `json:"isrc,omitempty"`
	ISWC   string `json:"iswc,omitempty"`
	ISAN   string `json:"isan,omitempty"`
	EIDR   string `json:"eidr,omitempty"`
	// Uses counts usage lines, Items the distinct items using the work.
	Uses    int     `json:"uses"`
	Items   int     `json:"items"`
	PlayedS float64 `json:"played_s"`
	// Views sums the views of the items using the work, each item once.
	Views  int64       `json:"views"`
	Owners []api.Owner `json:"owners,omitempty"`
}

// OwnerTotal sums an owner's part of the uses of its works: played time
// and views, in full and weighted by the owner's share of each work.
type OwnerTotal struct {
	Owner        string  `json:"owner"`
	Works        int     `json:"works"`
	Uses         int     `json:"uses"`
	Items        int     `json:"items"`
	PlayedS      float64 `json:"played_s"`
	SharePlayedS float64 `json:"share_played_s"`
	Views        int64   `json:"views"`
	ShareViews   float64 `json:"share_views"`
}

// Totals are a report's per-work and per-owner sums.
type Totals struct {
	Scans  []ScanRef    `json:"scans"`
	Works  []WorkTotal  `json:"works"`
	Owners []OwnerTotal `json:"owners"`
}

// Total sums the input's counted lines per work and per owner. Works
// are sorted by id, owners by name. A work's owners are those of its
// latest line (lines carry the owners as they were when scanned).
func Total(in Input) (Totals, error) {
	// Lines come item by item, so an item new to a work or an owner is
	// one other than the last it was seen in.
	type itemKey struct {
		scan string
		line int
	}
	type workAcc struct {
		WorkTotal
		last itemKey
	}
	type ownerAcc struct {
		OwnerTotal
		works map[workKey]bool
		last  itemKey
	}
	works := map[workKey]*workAcc{}
	owners := map[string]*ownerAcc{}
	err := in.each(true, func(u api.Usage) error {
		k := keyOf(u)
		w := works[k]
		if w == nil {
			w = &workAcc{WorkTotal: WorkTotal{WorkID: u.WorkID, Tenant: u.Tenant}}
			works[k] = w
		}
		w.Title, w.ISRC, w.ISWC, w.ISAN, w.EIDR, w.Owners = u.WorkTitle, u.ISRC, u.ISWC, u.ISAN, u.EIDR, u.Owners
		w.Uses++
		w.PlayedS += u.PlayedS
		ik := itemKey{u.ScanID, u.Line}
		newItem := w.Items == 0 || w.last != ik
		if newItem {
			w.Items++
			w.Views += u.Views
			w.last = ik
		}
		for _, o := range u.Owners {
			oa := owners[o.Name]
			if oa == nil {
				oa = &ownerAcc{OwnerTotal: OwnerTotal{Owner: o.Name}, works: map[workKey]bool{}}
				owners[o.Name] = oa
			}
			oa.works[k] = true
			if oa.Items == 0 || oa.last != ik {
				oa.Items++
				oa.last = ik
			}
			oa.Uses++
			oa.PlayedS += u.PlayedS
			oa.SharePlayedS += u.PlayedS * o.Share / 100
			if newItem {
				oa.Views += u.Views
				oa.ShareViews += float64(u.Views) * o.Share / 100
			}
		}
		return nil
	})
	if err != nil {
		return Totals{}, err
	}
	t := Totals{Scans: scansOf(in), Works: []WorkTotal{}, Owners: []OwnerTotal{}}
	for _, k := range sortedKeys(works) {
		w := works[k]
		w.PlayedS = api.Millis(w.PlayedS)
		t.Works = append(t.Works, w.WorkTotal)
	}
	for _, o := range owners {
		o.Works = len(o.works)
		o.PlayedS, o.SharePlayedS, o.ShareViews = api.Millis(o.PlayedS), api.Millis(o.SharePlayedS), round4(o.ShareViews)
		t.Owners = append(t.Owners, o.OwnerTotal)
	}
	slices.SortFunc(t.Owners, func(a, b OwnerTotal) int { return cmp.Compare(a.Owner, b.Owner) })
	return t, nil
}

// WriteWorksCSV writes the per-work totals.
func WriteWorksCSV(w io.Writer, in Input) error {
	tot, err := Total(in)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"work_id", "tenant", "title", "isrc", "iswc", "isan", "eidr", "uses", "items", "played_s", "views", "owners"})
	for _, t := range tot.Works {
		_ = cw.Write([]string{t.WorkID, t.Tenant, t.Title, t.ISRC, t.ISWC, t.ISAN, t.EIDR, strconv.Itoa(t.Uses), strconv.Itoa(t.Items),
			secs(t.PlayedS), strconv.FormatInt(t.Views, 10), ownersCell(t.Owners)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteOwnersCSV writes the per-owner totals.
func WriteOwnersCSV(w io.Writer, in Input) error {
	tot, err := Total(in)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"owner", "works", "uses", "items", "played_s", "share_played_s", "views", "share_views"})
	for _, t := range tot.Owners {
		_ = cw.Write([]string{t.Owner, strconv.Itoa(t.Works), strconv.Itoa(t.Uses), strconv.Itoa(t.Items), secs(t.PlayedS),
			secs(t.SharePlayedS), strconv.FormatInt(t.Views, 10), num(t.ShareViews)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteWorksJSON and WriteOwnersJSON write the totals as JSON.
func WriteWorksJSON(w io.Writer, in Input) error {
	t, err := Total(in)
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		Scans []ScanRef   `json:"scans"`
		Works []WorkTotal `json:"works"`
	}{t.Scans, t.Works})
}

// WriteOwnersJSON writes the per-owner totals as JSON.
func WriteOwnersJSON(w io.Writer, in Input) error {
	t, err := Total(in)
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		Scans  []ScanRef    `json:"scans"`
		Owners []OwnerTotal `json:"owners"`
	}{t.Scans, t.Owners})
}
