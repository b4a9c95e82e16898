// Package api holds the JSON shapes of cueprint's HTTP API (/v1), shared
// by the server and its Go client. The OpenAPI document served at
// /v1/openapi.json describes the same shapes; a server test keeps the two
// in sync.
package api

import "time"

// Segment is one registered work found in a query: the fields of
// `cueprint match --json`, plus the work's public identifiers and, for
// callers allowed to see them (admins, matchers, and the work's own
// tenant), its owners.
type Segment struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	QueryStartS float64 `json:"query_start_s"`
	QueryEndS   float64 `json:"query_end_s"`
	RefStartS   float64 `json:"ref_start_s"`
	RefEndS     float64 `json:"ref_end_s"`
	DurationS   float64 `json:"duration_s"`
	Score       int     `json:"score"`
	Confidence  float64 `json:"confidence"`
	Speed       float64 `json:"speed"`
	// Modality is what matched: "audio", "video" or "audiovisual".
	Modality string `json:"modality"`
	// PitchShiftSemitones is the query's pitch relative to the work.
	PitchShiftSemitones float64 `json:"pitch_shift_semitones"`
	// AlsoAtS lists the other places in the work (reference start times,
	// seconds) where the matched passage aligns as well: a chorus or a
	// loop the work repeats. The segment's own ref_start_s is the best.
	AlsoAtS []float64 `json:"also_at_s,omitempty"`
	ISRC    string    `json:"isrc,omitempty"`
	ISWC    string    `json:"iswc,omitempty"`
	ISAN    string    `json:"isan,omitempty"`
	EIDR    string    `json:"eidr,omitempty"`
	// Tenant is the account the work is registered in (work IDs are
	// per tenant), shown with the owners to those who may see them.
	Tenant string  `json:"tenant,omitempty"`
	Owners []Owner `json:"owners,omitempty"`
}

// Query describes a matched query.
type Query struct {
	// Path is the uploaded file's name, the URL, or "" for a raw body.
	Path      string  `json:"path"`
	DurationS float64 `json:"duration_s"`
	// Captured is set when a stream was read for a while and not to its
	// end (a live stream, or MatchURLRequest.DurationS): the matches are
	// those of DurationS seconds from where reading began.
	Captured bool `json:"captured,omitempty"`
}

// MatchResponse answers POST /v1/match and /v1/match/url.
type MatchResponse struct {
	Query   Query     `json:"query"`
	Matches []Segment `json:"matches"`
}

// StreamEvent is one line of POST /v1/match/stream's NDJSON answer:
// "segment" events as each segment is confirmed, then exactly one "end"
// (with the query's duration and the number of segments) or "error".
type StreamEvent struct {
	Type    string   `json:"type"` // "segment", "end" or "error"
	Segment *Segment `json:"segment,omitempty"`
	Query   *Query   `json:"query,omitempty"`
	Matches int      `json:"matches,omitempty"`
	Error   *Error   `json:"error,omitempty"`
}

// MatchURLRequest is the body of POST /v1/match/url.
type MatchURLRequest struct {
	URL string `json:"url"`
	// DurationS bounds what is read of a stream: the first DurationS
	// seconds of an HLS playlist's segments, or DurationS seconds of a
	// body of unknown length as it arrives (a live stream). 0: the whole
	// of media that ends, and DefaultCaptureS of a live stream.
	DurationS float64 `json:"duration_s,omitempty"`
}

// DefaultCaptureS is how much of a live stream /v1/match/url reads when
// the request does not say.
const DefaultCaptureS = 60

// Owner is one rights holder of a work, with a share in percent.
type Owner struct {
	Name  string  `json:"name"`
	Role  string  `json:"role,omitempty"`
	Share float64 `json:"share"`
}

// WorkMetadata is what a caller says about a work when registering it
// (the `metadata` part of POST /v1/works).
type WorkMetadata struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	ISRC   string  `json:"isrc,omitempty"`
	ISWC   string  `json:"iswc,omitempty"`
	ISAN   string  `json:"isan,omitempty"`
	EIDR   string  `json:"eidr,omitempty"`
	Owners []Owner `json:"owners,omitempty"`
	// Tenant is honoured for admin keys only; other keys register into
	// their own tenant.
	Tenant string `json:"tenant,omitempty"`
}

// Work is a registered work.
type Work struct {
	WorkMetadata
	DurationS    float64   `json:"duration_s"`
	RegisteredAt time.Time `json:"registered_at"`
	Peaks        int       `json:"peaks"`
	Hashes       int       `json:"hashes"`
	// VideoFrames counts the hashed frames of the picture's print (absent
	// for a work registered from audio only).
	VideoFrames int `json:"video_frames,omitempty"`
}

// WorkList answers GET /v1/works. Next, when set, is the `after` value
// of the following page.
type WorkList struct {
	Works []Work `json:"works"`
	Next  string `json:"next,omitempty"`
}

// Job is a background job (bulk registration).
type Job struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"` // "running", "done", "cancelled"
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Registered int        `json:"registered"`
	Failed     int        `json:"failed"`
	Errors     []JobError `json:"errors"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// JobError is one failed item of a job.
type JobError struct {
	Line  int    `json:"line"`
	ID    string `json:"id,omitempty"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// Key describes an API key (never its secret).
type Key struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	Tenant    string     `json:"tenant"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// KeyRequest is the body of POST /v1/keys.
type KeyRequest struct {
	Role   string `json:"role"`
	Tenant string `json:"tenant"`
	Name   string `json:"name,omitempty"`
}

// NewKey answers POST /v1/keys: the only time the secret is shown.
type NewKey struct {
	Key
	Secret string `json:"key"`
}

// KeyList answers GET /v1/keys.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// Error is the body of every 4xx and 5xx answer: a stable
// machine-readable code and a message for people.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse wraps Error as it appears on the wire.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Health answers /healthz and /readyz.
type Health struct {
	Status string `json:"status"` // "ok", "overloaded", "closed"
	Works  uint64 `json:"works,omitempty"`
	// Storage is reported by /readyz: whether writes are accepted.
	Storage *Storage `json:"storage,omitempty"`
}

// Storage is the state of the store's disk in /readyz. A daemon whose
// disk is below the reserve stays ready (it matches) but refuses writes
// with 507 insufficient_storage.
type Storage struct {
	// Writable is false when registrations and deletions are refused:
	// the disk is below the reserve, or the store was opened read-only.
	Writable bool `json:"writable"`
	// Reason says why writes are refused: "insufficient_storage" or
	// "read_only"; empty when writable.
	Reason string `json:"reason,omitempty"`
	// FreeBytes is the free space on the store's disk (-1: unknown);
	// ReserveBytes what writes must leave free (0: no guard).
	FreeBytes    int64 `json:"free_bytes"`
	ReserveBytes int64 `json:"reserve_bytes"`
}
