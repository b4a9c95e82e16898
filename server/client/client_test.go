package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetryTurnedAway: a 429 is sent again after Retry-After with the
// whole body; a body that cannot be read twice is not, and the error
// carries Retry-After; a failure in transit is not retried.
func TestRetryTurnedAway(t *testing.T) {
	var calls atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"code":"overloaded","message":"busy"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"query":{"duration_s":1},"matches":[]}`)
	}))
	defer srv.Close()
	c, err := New(srv.URL, "k", nil)
	require.NoError(t, err)

	f := filepath.Join(t.TempDir(), "q.mp3")
	require.NoError(t, os.WriteFile(f, []byte("media bytes"), 0o600))
	fh, err := os.Open(f)
	require.NoError(t, err)
	defer fh.Close()
	res, err := c.Match(context.Background(), fh)
	require.NoError(t, err)
	assert.Equal(t, 1.0, float64(res.Query.DurationS))
	assert.Equal(t, []string{"media bytes", "media bytes", "media bytes"}, bodies, "each attempt sends the whole file")

	// A pipe cannot be read twice: the 429 is the answer.
	calls.Store(0)
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, "streamed"); pw.Close() }()
	_, err = c.Match(context.Background(), pr)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, "overloaded", e.Code)
	assert.Equal(t, int32(1), calls.Load())

	// Always turned away: given up after MaxRetries, with the server's error.
	calls.Store(-100)
	_, err = c.Ready(context.Background())
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, int32(-100+MaxRetries+1), calls.Load())
}
