package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/auth"
)

// TestAccessLog: one line per request with method, route, status,
// duration, the key's ID and the bytes each way; probes only at debug.
func TestAccessLog(t *testing.T) {
	st, err := index.Open(context.Background(), "", index.Options{Params: fingerprint.DefaultAudioParams(), InMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ring, err := auth.Open(t.TempDir())
	require.NoError(t, err)
	key, secret, err := ring.Create(auth.Admin, "ops", "ops")
	require.NoError(t, err)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(Config{}, st, ring, prometheus.NewRegistry(), logger)
	require.NoError(t, err)
	t.Cleanup(s.Close)

	req := httptest.NewRequest("GET", "/v1/works?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	s.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/match", strings.NewReader("not media")))
	s.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

	var lines []string
	for l := range strings.Lines(buf.String()) {
		if strings.Contains(l, "msg=request ") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, buf.String())
	for _, want := range []string{"method=GET", "route=/v1/works", "status=200", "duration=", "key_id=" + key.ID, "bytes_in=0",
		"bytes_out=" + strconv.Itoa(rec.Body.Len())} {
		assert.Contains(t, lines[0], want)
	}
	for _, want := range []string{"method=POST", "route=/v1/match", "status=401", `key_id=""`} {
		assert.Contains(t, lines[1], want)
	}
	assert.NotContains(t, buf.String(), "route=/healthz", "probes are logged at debug")
}
