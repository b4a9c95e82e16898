package api

import "time"

// ScanItem is one entry of a scan's list: a platform's upload, a file of
// a dataset. Media is a path (under the daemon's media root, or relative
// to the list's directory on the command line) or an http(s) URL.
type ScanItem struct {
	// ItemID is the platform's own id of the item, unique in the list.
	ItemID   string `json:"item_id"`
	Media    string `json:"media"`
	Uploader string `json:"uploader,omitempty"`
	Title    string `json:"title,omitempty"`
	// Views counts the item's views or plays in the period.
	Views     int64  `json:"views,omitempty"`
	Territory string `json:"territory,omitempty"`
	// PeriodStart and PeriodEnd delimit the usage period (YYYY-MM-DD).
	PeriodStart string `json:"period_start,omitempty"`
	PeriodEnd   string `json:"period_end,omitempty"`
	// Extra keeps the list's other columns as they were.
	Extra map[string]string `json:"extra,omitempty"`
}

// ScanRequest is the JSON body of POST /v1/scans (a CSV body carries the
// items alone, the rest in the query string).
type ScanRequest struct {
	// Name names the scan; with the same items it is the same scan, so a
	// request repeated after a lost answer does not scan twice.
	Name string `json:"name,omitempty"`
	// Kind is "catalogue" (a platform's uploads, the default) or
	// "dataset" (a training-set audit).
	Kind     string        `json:"kind,omitempty"`
	Items    []ScanItem    `json:"items"`
	Settings *ScanSettings `json:"settings,omitempty"`
}

// ScanSettings decide how matches become usage lines.
type ScanSettings struct {
	// MinDurationS: a use played for less is "potential".
	MinDurationS float64 `json:"min_duration_s"`
	// MinConfidence: a use whose best match is less confident is
	// "potential".
	MinConfidence float64 `json:"min_confidence"`
	// MergeGapS: uses of one work in one item separated by at most this
	// much (a voice-over, a jingle) are one use.
	MergeGapS float64 `json:"merge_gap_s"`
}

// Scan is a scan's state and progress.
type Scan struct {
	ID       string       `json:"id"`
	Name     string       `json:"name,omitempty"`
	Kind     string       `json:"kind"`
	Tenant   string       `json:"tenant,omitempty"`
	State    string       `json:"state"` // "running", "done", "cancelled", "failed"
	Settings ScanSettings `json:"settings"`
	// Total items; Done of them processed, Failed of those with an error.
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
	// Usages counts the usage lines found so far.
	Usages int `json:"usages"`
	// MediaHours is the media processed so far.
	MediaHours float64 `json:"media_hours"`
	// ItemsPerMinute and ETAS are measured since the scan last started
	// running; absent until an item is done.
	ItemsPerMinute float64 `json:"items_per_minute,omitempty"`
	ETAS           float64 `json:"eta_s,omitempty"`
	// Errors lists failed items (the first 1,000; Failed counts all).
	Errors     []ScanError `json:"errors"`
	CreatedAt  time.Time   `json:"created_at"`
	FinishedAt *time.Time  `json:"finished_at,omitempty"`
}

// ScanError is one item the scan could not process, and why.
type ScanError struct {
	Line   int    `json:"line"`
	ItemID string `json:"item_id"`
	Code   string `json:"code"`
	Error  string `json:"error"`
}

// ScanList answers GET /v1/scans.
type ScanList struct {
	Scans []Scan `json:"scans"`
}

// Usage is one usage line: one contiguous use of a registered work in a
// scanned item, with what identifies the item and the work, and who owned
// the work when the item was scanned.
type Usage struct {
	// ID is stable: the same scan of the same items gives the same ids
	// (a DSR's SalesTransactionId).
	ID     string `json:"id"`
	ScanID string `json:"scan_id"`
	// Line is the item's position in the scan's list (1 is the first).
	Line        int               `json:"line"`
	ItemID      string            `json:"item_id"`
	Media       string            `json:"media"`
	Uploader    string            `json:"uploader,omitempty"`
	ItemTitle   string            `json:"item_title,omitempty"`
	Views       int64             `json:"views,omitempty"`
	Territory   string            `json:"territory,omitempty"`
	PeriodStart string            `json:"period_start,omitempty"`
	PeriodEnd   string            `json:"period_end,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
	// ItemDurationS is the item's media duration.
	ItemDurationS float64 `json:"item_duration_s"`
	// The use: where in the item and in the work, how long it played (the
	// sum of its matched stretches), its longest single match, and its
	// shares of the item's duration and of the work's.
	QueryStartS    float64 `json:"query_start_s"`
	QueryEndS      float64 `json:"query_end_s"`
	RefStartS      float64 `json:"ref_start_s"`
	RefEndS        float64 `json:"ref_end_s"`
	PlayedS        float64 `json:"played_s"`
	LongestMatchS  float64 `json:"longest_match_s"`
	ItemShare      float64 `json:"item_share"`
	WorkShare      float64 `json:"work_share"`
	Segments       int     `json:"segments"`
	Confidence     float64 `json:"confidence"`
	Speed          float64 `json:"speed"`
	PitchSemitones float64 `json:"pitch_shift_semitones"`
	Modality       string  `json:"modality"`
	// The work as registered when the item was scanned.
	WorkID        string  `json:"work_id"`
	WorkTitle     string  `json:"work_title,omitempty"`
	WorkDurationS float64 `json:"work_duration_s"`
	ISRC          string  `json:"isrc,omitempty"`
	ISWC          string  `json:"iswc,omitempty"`
	ISAN          string  `json:"isan,omitempty"`
	EIDR          string  `json:"eidr,omitempty"`
	Tenant        string  `json:"tenant,omitempty"`
	Owners        []Owner `json:"owners,omitempty"`
	// Status is "confirmed", or "potential" with the reason in
	// StatusReason ("short", "low_confidence").
	Status       string `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
}

// UsageList answers GET /v1/usages. Next, when set, is the `after` value
// of the following page.
type UsageList struct {
	Usages []Usage `json:"usages"`
	Next   string  `json:"next,omitempty"`
}
