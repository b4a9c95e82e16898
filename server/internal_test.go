package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
)

func newTestServer(t *testing.T) (*Server, *prometheus.Registry) {
	t.Helper()
	st, err := index.Open(context.Background(), "", index.Options{Params: fingerprint.DefaultAudioParams(), InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ring, err := auth.Open(t.TempDir())
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	s, err := New(Config{}, st, ring, reg, nil)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, reg
}

// TestOpenAPIMatchesRoutes keeps openapi.json and the route table, and
// the documented schemas and the api package's JSON fields, in step.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPI, &doc))
	var documented, served []string
	for path, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	var s Server
	for _, rt := range s.routeTable(nil) {
		served = append(served, rt.method+" "+rt.path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	assert.Equal(t, served, documented, "every route documented, nothing documented that is not served")

	for name, v := range map[string]any{
		"Segment": api.Segment{}, "Query": api.Query{}, "MatchResponse": api.MatchResponse{}, "StreamEvent": api.StreamEvent{},
		"WorkMetadata": api.WorkMetadata{}, "Work": api.Work{}, "WorkList": api.WorkList{}, "Owner": api.Owner{},
		"Job": api.Job{}, "JobError": api.JobError{}, "Key": api.Key{}, "KeyRequest": api.KeyRequest{}, "KeyList": api.KeyList{},
		"Error": api.Error{}, "ErrorResponse": api.ErrorResponse{}, "Health": api.Health{}, "MatchURLRequest": api.MatchURLRequest{},
		"ScanItem": api.ScanItem{}, "ScanRequest": api.ScanRequest{}, "ScanSettings": api.ScanSettings{}, "Scan": api.Scan{},
		"ScanError": api.ScanError{}, "ScanList": api.ScanList{}, "Usage": api.Usage{}, "UsageList": api.UsageList{},
		"MonitorRequest": api.MonitorRequest{}, "Monitor": api.Monitor{}, "MonitorStatus": api.MonitorStatus{}, "MonitorList": api.MonitorList{},
		"Play": api.Play{}, "Event": api.Event{}, "WebhookRequest": api.WebhookRequest{}, "Webhook": api.Webhook{}, "WebhookList": api.WebhookList{},
	} {
		sch, ok := doc.Components.Schemas[name]
		if !assert.True(t, ok, "schema %s documented", name) {
			continue
		}
		var props []string
		for p := range sch.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		fields, required := jsonFields(reflect.TypeOf(v))
		assert.Equal(t, fields, props, "schema %s has the fields of api.%s", name, name)
		sort.Strings(sch.Required)
		assert.Equal(t, required, sch.Required, "schema %s requires the fields api.%s always sends", name, name)
	}
}

// jsonFields lists a struct's JSON names (embedded structs flattened) and
// those without omitempty.
func jsonFields(t reflect.Type) (all, required []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			a, r := jsonFields(f.Type)
			all, required = append(all, a...), append(required, r...)
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	sort.Strings(all)
	sort.Strings(required)
	return slices.Compact(all), slices.Compact(required)
}

// TestPanicIsRecovered: a panicking handler answers 500 with a JSON body,
// is counted, and the server goes on.
func TestPanicIsRecovered(t *testing.T) {
	s, reg := newTestServer(t)
	h := s.wrap(route{method: "GET", path: "/boom", h: func(http.ResponseWriter, *http.Request, *call) error { panic("boom") }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	assert.Equal(t, 500, rec.Code)
	var er api.ErrorResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &er))
	assert.Equal(t, "internal", er.Error.Code)
	assert.Equal(t, 1.0, testutil.ToFloat64(s.metrics.panics))
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, 200, rec.Code)
	n, err := testutil.GatherAndCount(reg, "cueprint_panics_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestMetricsLabelsBounded: unknown paths and methods do not create
// label values.
func TestMetricsLabelsBounded(t *testing.T) {
	s, reg := newTestServer(t)
	for i := range 20 {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/no/such/"+strings.Repeat("x", i), nil))
		assert.Equal(t, 404, rec.Code)
		rec = httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("PATCH", "/v1/works/id-"+strings.Repeat("y", i), nil))
		assert.Equal(t, 405, rec.Code)
	}
	n, err := testutil.GatherAndCount(reg, "cueprint_http_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "one series for unmatched paths, one for the 405 route")
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"defaults", Config{}, ""},
		{"bad listen", Config{Listen: "nope"}, "listen"},
		{"negative workers", Config{Workers: -1}, "workers"},
		{"relative root", Config{MediaRoot: "media"}, "media root"},
		{"several", Config{Workers: -1, MaxStreams: -2}, "max streams"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.want)
			}
		})
	}
}

// TestSegmentMetrics: the postings segment's gauges follow the store:
// absent (0) before LoadPostings, then its lists, bytes and build count.
func TestSegmentMetrics(t *testing.T) {
	s, reg := newTestServer(t)
	value := func(name string) float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == name {
				m := mf.GetMetric()[0]
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
		t.Fatalf("metric %s not registered", name)
		return 0
	}
	assert.Zero(t, value("cueprint_postings_segment_complete"))
	assert.Zero(t, value("cueprint_postings_segment_builds_total"))
	ctx := context.Background()
	var peaks []fingerprint.Peak
	for i := range 400 {
		peaks = append(peaks, fingerprint.Peak{Time: float32(i) * 0.75, Pitch: float32(i*7%40) + 0.5, Strength: 1 + float32(i%5)})
	}
	_, err := s.store.Register(ctx, index.Work{ID: "w"}, peaks, false)
	require.NoError(t, err)
	_, err = s.store.LoadPostings(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1.0, value("cueprint_postings_segment_complete"))
	assert.Equal(t, 1.0, value("cueprint_postings_segment_builds_total"))
	assert.Positive(t, value("cueprint_postings_segment_lists"))
	assert.Positive(t, value("cueprint_postings_segment_bytes"))
	assert.Zero(t, value("cueprint_postings_segment_dirty_keys"))
}
