package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

// Audit is a training-set audit: which registered works a dataset holds,
// where, for how long, and who owns them, against the dataset's size.
type Audit struct {
	Scans []ScanRef `json:"scans"`
	// Files counts the dataset's files; FilesFailed those that could not
	// be read (listed in the scan), FilesPending those not processed yet.
	Files        int `json:"files"`
	FilesFailed  int `json:"files_failed"`
	FilesPending int `json:"files_pending"`
	// FilesWithWorks counts files holding at least one registered work.
	FilesWithWorks int `json:"files_with_works"`
	// Hours is the dataset's media; RegisteredHours the part of it inside
	// a use of a registered work (a use's whole span, its short gaps
	// included, overlaps counted once); RegisteredShare their ratio: the
	// basis of a remuneration by use.
	Hours           float64      `json:"hours"`
	RegisteredHours float64      `json:"registered_hours"`
	RegisteredShare float64      `json:"registered_share"`
	Works           []AuditWork  `json:"works"`
	Owners          []OwnerTotal `json:"owners"`
}

// AuditWork is one registered work found in a dataset.
type AuditWork struct {
	WorkID string      `json:"work_id"`
	Tenant string      `json:"tenant,omitempty"`
	Title  string      `json:"title,omitempty"`
	ISRC   string      `json:"isrc,omitempty"`
	ISWC   string      `json:"iswc,omitempty"`
	Owners []api.Owner `json:"owners,omitempty"`
	Files  int         `json:"files"`
	// PlayedS is the work's total duration in the dataset; ShareOfDataset
	// its part of the dataset's hours.
	PlayedS        float64 `json:"played_s"`
	ShareOfDataset float64 `json:"share_of_dataset"`
	// Spans lists where it occurs.
	Spans []AuditSpan `json:"spans"`
}

// AuditSpan is one occurrence of a work in a dataset file.
type AuditSpan struct {
	ItemID      string  `json:"item_id"`
	Media       string  `json:"media"`
	QueryStartS float64 `json:"query_start_s"`
	QueryEndS   float64 `json:"query_end_s"`
	RefStartS   float64 `json:"ref_start_s"`
	RefEndS     float64 `json:"ref_end_s"`
	PlayedS     float64 `json:"played_s"`
	UsageID     string  `json:"usage_id"`
}

// BuildAudit audits the input's scans as datasets.
func BuildAudit(in Input) (Audit, error) {
	a := Audit{Scans: scansOf(in), Works: []AuditWork{}}
	var totalS, registeredS float64
	for _, r := range in.Scans {
		err := r.Each(func(it scan.ItemResult) error {
			a.Files++
			switch {
			case !it.Done:
				a.FilesPending++
				return nil
			case it.Err != nil:
				a.FilesFailed++
				return nil
			}
			totalS += it.DurationS
			var iv [][2]float64
			for _, u := range it.Usages {
				if in.Filter.Match(u) && (in.Potential || u.Status == "confirmed") {
					iv = append(iv, [2]float64{u.QueryStartS, u.QueryEndS})
				}
			}
			if len(iv) > 0 {
				a.FilesWithWorks++
				registeredS += scan.Covered(iv)
			}
			return nil
		})
		if err != nil {
			return Audit{}, err
		}
	}
	byWork := map[workKey]*AuditWork{}
	lastFile := map[workKey]string{} // lines come file by file
	err := in.each(true, func(u api.Usage) error {
		k := keyOf(u)
		w := byWork[k]
		if w == nil {
			w = &AuditWork{WorkID: u.WorkID, Tenant: u.Tenant}
			byWork[k] = w
		}
		w.Title, w.ISRC, w.ISWC, w.Owners = u.WorkTitle, u.ISRC, u.ISWC, u.Owners
		if f := u.ScanID + "\x00" + strconv.Itoa(u.Line); lastFile[k] != f {
			w.Files++
			lastFile[k] = f
		}
		w.PlayedS += u.PlayedS
		w.Spans = append(w.Spans, AuditSpan{ItemID: u.ItemID, Media: u.Media, QueryStartS: u.QueryStartS, QueryEndS: u.QueryEndS,
			RefStartS: u.RefStartS, RefEndS: u.RefEndS, PlayedS: u.PlayedS, UsageID: u.ID})
		return nil
	})
	if err != nil {
		return Audit{}, err
	}
	for _, k := range sortedKeys(byWork) {
		w := byWork[k]
		w.PlayedS = api.Millis(w.PlayedS)
		if totalS > 0 {
			w.ShareOfDataset = round4(w.PlayedS / totalS)
		}
		a.Works = append(a.Works, *w)
	}
	a.Hours, a.RegisteredHours = round4(totalS/3600), round4(registeredS/3600)
	if totalS > 0 {
		a.RegisteredShare = round4(registeredS / totalS)
	}
	t, err := Total(in)
	if err != nil {
		return Audit{}, err
	}
	a.Owners = t.Owners
	return a, nil
}

// WriteAuditJSON writes the audit as JSON.
func WriteAuditJSON(w io.Writer, in Input) error {
	a, err := BuildAudit(in)
	if err != nil {
		return err
	}
	return writeJSON(w, a)
}

// WriteAuditCSV writes the audit's per-work lines: work, owners, files,
// played time and share of the dataset.
func WriteAuditCSV(w io.Writer, in Input) error {
	a, err := BuildAudit(in)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"work_id", "tenant", "title", "isrc", "iswc", "owners", "files", "played_s", "share_of_dataset"})
	for _, x := range a.Works {
		_ = cw.Write([]string{x.WorkID, x.Tenant, x.Title, x.ISRC, x.ISWC, ownersCell(x.Owners), strconv.Itoa(x.Files), secs(x.PlayedS), num(x.ShareOfDataset)})
	}
	cw.Flush()
	return cw.Error()
}
