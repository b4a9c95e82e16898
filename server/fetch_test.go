package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
)

// TestMatchURLStreams: /v1/match/url reads an HLS playlist's segments (a
// master playlist through its variant), captures a live playlist and an
// endless body for the duration asked, and refuses what it cannot read,
// each with the right code.
func TestMatchURLStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes real media")
	}
	trs := tracks(t, 1)
	e := newEnv(t, server.Config{AllowRemoteURLs: true})
	register(t, e.client(t, "admin"), "S-1", "Streamed", trs[0].Path)
	// Six-second segments of the work from 20 s on: packed MP3 audio, which
	// HLS allows as well as MPEG-TS.
	const segS = 6
	segs := make([][]byte, 12)
	for i := range segs {
		segs[i] = clip(t, trs[0].Path, float64(20+segS*i), segS)
	}
	start := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/seg/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.PathValue("n"), "%d.mp3", &n)
		if n < 0 || n >= len(segs) {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(segs[n])
	})
	media := func(from, to int, ended bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n", segS, from)
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "#EXTINF:%d.0,\n/seg/%d.mp3\n", segS, i)
		}
		if ended {
			b.WriteString("#EXT-X-ENDLIST\n")
		}
		return b.String()
	}
	mux.HandleFunc("/vod.m3u8", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write([]byte(media(0, 5, true)))
	})
	mux.HandleFunc("/master.m3u8", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.4d401f,mp4a.40.2\"\nnone/video.m3u8\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS=\"mp4a.40.2\"\nvod.m3u8\n"))
	})
	// A live window of three segments that moves on a segment every 0.3 s.
	mux.HandleFunc("/live.m3u8", func(w http.ResponseWriter, r *http.Request) {
		head := min(3+int(time.Since(start)/(300*time.Millisecond)), len(segs))
		_, _ = w.Write([]byte(media(head-3, head, false)))
	})
	mux.HandleFunc("/locked.m3u8", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:6,\n/seg/0.mp3\n"))
	})
	// A radio stream: no length, never ends.
	mux.HandleFunc("/radio", func(w http.ResponseWriter, r *http.Request) {

		w.Header().Set("Content-Type", "audio/mpeg")
		rc := http.NewResponseController(w)
		for i := 0; ; i = (i + 1) % len(segs) {
			if _, err := w.Write(segs[i]); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	origin := httptest.NewServer(mux)
	defer origin.Close()

	c := e.client(t, "platform")
	ctx := context.Background()
	check := func(name string, req api.MatchURLRequest, captured bool, minS, maxS float64) {
		t.Helper()
		res, err := c.MatchURL(ctx, req)
		require.NoError(t, err, name)
		require.Len(t, res.Matches, 1, name)
		m := res.Matches[0]
		assert.Equal(t, "S-1", m.ID, name)
		assert.InDelta(t, m.QueryStartS+20, m.RefStartS, 1.0, "%s: the first segment starts 20 s into the work", name)
		assert.Equal(t, captured, res.Query.Captured, name)
		assert.GreaterOrEqual(t, res.Query.DurationS, minS, name)
		assert.LessOrEqual(t, res.Query.DurationS, maxS, name)
	}
	check("vod", api.MatchURLRequest{URL: origin.URL + "/vod.m3u8"}, false, 29, 31)
	check("vod, first 12 s", api.MatchURLRequest{URL: origin.URL + "/vod.m3u8", DurationS: 12}, true, 11, 13)
	check("master", api.MatchURLRequest{URL: origin.URL + "/master.m3u8"}, false, 29, 31)
	t0 := time.Now()
	res, err := c.MatchURL(ctx, api.MatchURLRequest{URL: origin.URL + "/live.m3u8", DurationS: 24})
	require.NoError(t, err)
	require.Len(t, res.Matches, 1)
	assert.True(t, res.Query.Captured, "a live playlist is captured, not read to an end")
	assert.InDelta(t, 24, res.Query.DurationS, 1.5)
	t.Logf("live playlist: %.1f s of media in %v", res.Query.DurationS, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	res, err = c.MatchURL(ctx, api.MatchURLRequest{URL: origin.URL + "/radio", DurationS: 2})
	require.NoError(t, err, "an endless stream answers with what was captured, not a timeout")
	assert.True(t, res.Query.Captured)
	assert.Less(t, time.Since(t0), 20*time.Second)
	require.NotEmpty(t, res.Matches)
	assert.Equal(t, "S-1", res.Matches[0].ID)

	_, err = c.MatchURL(ctx, api.MatchURLRequest{URL: origin.URL + "/locked.m3u8"})
	assertAPIError(t, err, 422, "unsupported_media")
	_, err = c.MatchURL(ctx, api.MatchURLRequest{URL: origin.URL + "/vod.m3u8", DurationS: -1})
	assertAPIError(t, err, 400, "bad_request")
}
