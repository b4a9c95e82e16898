package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/server/api"
)

// usageColumns are the fixed columns of usages.csv; the items' extra
// columns follow them.
var usageColumns = []string{
	"usage_id", "scan_id", "line", "item_id", "media", "uploader", "item_title", "views", "territory",
	"period_start", "period_end", "item_duration_s",
	"query_start_s", "query_end_s", "ref_start_s", "ref_end_s", "played_s", "longest_match_s",
	"item_share", "work_share", "segments", "confidence", "speed", "pitch_shift_semitones", "modality",
	"work_id", "work_title", "work_duration_s", "isrc", "iswc", "isan", "eidr", "tenant", "owners",
	"status", "status_reason",
}

// ownersCell prints owners as "name (role) share%" joined by "|".
func ownersCell(os []api.Owner) string {
	parts := make([]string, len(os))
	for i, o := range os {
		s := o.Name
		if o.Role != "" {
			s += " (" + o.Role + ")"
		}
		parts[i] = s + " " + num(o.Share) + "%"
	}
	return strings.Join(parts, "|")
}

// WriteUsagesCSV writes the input's usage lines as CSV, potential ones
// included, one line per use.
func WriteUsagesCSV(w io.Writer, in Input) error {
	extra := in.columns()
	cw := csv.NewWriter(w)
	if err := cw.Write(append(append([]string{}, usageColumns...), extra...)); err != nil {
		return err
	}
	err := in.each(false, func(u api.Usage) error {
		rec := []string{
			u.ID, u.ScanID, strconv.Itoa(u.Line), u.ItemID, u.Media, u.Uploader, u.ItemTitle, strconv.FormatInt(u.Views, 10), u.Territory,
			u.PeriodStart, u.PeriodEnd, secs(u.ItemDurationS),
			secs(u.QueryStartS), secs(u.QueryEndS), secs(u.RefStartS), secs(u.RefEndS), secs(u.PlayedS), secs(u.LongestMatchS),
			num(u.ItemShare), num(u.WorkShare), strconv.Itoa(u.Segments), num(u.Confidence), num(u.Speed), num(u.PitchSemitones), u.Modality,
			u.WorkID, u.WorkTitle, secs(u.WorkDurationS), u.ISRC, u.ISWC, u.ISAN, u.EIDR, u.Tenant, ownersCell(u.Owners),
			u.Status, u.StatusReason,
		}
		for _, c := range extra {
			rec = append(rec, u.Extra[c])
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// UsagesDoc is the JSON form of usage lines: the scans they come from
// and the lines.
type UsagesDoc struct {
	Scans  []ScanRef   `json:"scans"`
	Usages []api.Usage `json:"usages"`
}

// WriteUsagesJSON writes the input's usage lines as JSON: a UsagesDoc,
// written line by line as the lines are read.
func WriteUsagesJSON(w io.Writer, in Input) error {
	bw := bufio.NewWriter(w)
	scans, err := json.MarshalIndent(scansOf(in), "  ", "  ")
	if err != nil {
		return err
	}
	bw.WriteString("{\n  \"scans\": ")
	bw.Write(scans)
	bw.WriteString(",\n  \"usages\": [")
	n := 0
	err = in.each(false, func(u api.Usage) error {
		b, err := json.MarshalIndent(u, "    ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(b)
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// ScanRef is a scan as a report names it: what it is and what it found,
// without the clock values and rates that change with how a run went.
type ScanRef struct {
	ID         string           `json:"id"`
	Name       string           `json:"name,omitempty"`
	Kind       string           `json:"kind"`
	Tenant     string           `json:"tenant,omitempty"`
	State      string           `json:"state"`
	Settings   api.ScanSettings `json:"settings"`
	Total      int              `json:"total"`
	Done       int              `json:"done"`
	Failed     int              `json:"failed"`
	Usages     int              `json:"usages"`
	MediaHours float64          `json:"media_hours"`
}

func scansOf(in Input) []ScanRef {
	out := make([]ScanRef, len(in.Scans))
	for i, r := range in.Scans {
		s := r.Scan
		out[i] = ScanRef{ID: s.ID, Name: s.Name, Kind: s.Kind, Tenant: s.Tenant, State: s.State, Settings: s.Settings,
			Total: s.Total, Done: s.Done, Failed: s.Failed, Usages: s.Usages, MediaHours: s.MediaHours}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
