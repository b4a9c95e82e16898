package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
	"github.com/cueprint/cueprint/server/events"
)

// station streams an MP3 at a constant 128 kb/s, pace times faster than
// real time, then holds the connection open.
type station struct {
	mp3  []byte
	pace int
}

func (s station) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "audio/mpeg")
	rc := http.NewResponseController(w)
	start := time.Now()
	sent := 0
	for sent < len(s.mp3) {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		upTo := min(len(s.mp3), int(time.Since(start).Seconds()*16000*float64(s.pace)))
		if _, err := w.Write(s.mp3[sent:upTo]); err != nil {
			return
		}
		_ = rc.Flush()
		sent = upTo
	}
	<-r.Context().Done()
}

// hookReceiver fails its first fails deliveries, then keeps each event
// once per idempotency key, checking every signature with secret.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	fails  int
	calls  int
	badSig int
	got    map[string]int
	types  []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if events.Verify(h.secret, r.Header.Get("Cueprint-Signature"), body, time.Now(), 5*time.Minute) != nil {
		h.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.fails > 0 {
		h.fails--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if h.got[key] == 0 {
		var e api.Event
		if json.Unmarshal(body, &e) == nil {
			h.types = append(h.types, e.Type)
		}
	}
	h.got[key]++
}

// TestMonitorThroughTheAPI: a monitor added through the API hears a
// registered song on a station; its play comes out on the event stream
// and to a webhook that fails three times first, which gets each event
// once, signed. The monitor's state and plays show in the API, and it
// goes when deleted.
func TestMonitorThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute of programme")
	}
	tr := tracks(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pcm []float32
	for _, part := range []degrade.Excerpt{{Path: tr[1].Path, StartS: 30, LengthS: 6}, {Path: tr[0].Path, StartS: 40, LengthS: 30}} {
		x, err := degrade.Load(ctx, part, "")
		require.NoError(t, err)
		pcm = append(pcm, x...)
	}
	pcm = append(pcm, make([]float32, 45*degrade.WorkRateHz)...)
	mp3, err := media.EncodeAudio(ctx, pcm, degrade.WorkRateHz, media.Codec{Encoder: "libmp3lame", Format: "mp3", BitRate: 128000})
	require.NoError(t, err)
	radio := httptest.NewServer(station{mp3: mp3, pace: 6})
	defer radio.Close()

	e := newEnv(t, server.Config{AllowRemoteURLs: true})
	admin := e.client(t, "admin")
	register(t, admin, "W1", "Song", tr[0].Path)

	recv := &hookReceiver{fails: 3, got: map[string]int{}}
	hooks := httptest.NewServer(recv)
	defer hooks.Close()
	hook, err := admin.AddWebhook(ctx, api.WebhookRequest{URL: hooks.URL, Types: []string{"play.started", "play.ended"}})
	require.NoError(t, err)
	require.NotEmpty(t, hook.Secret)
	recv.mu.Lock()
	recv.secret = hook.Secret
	recv.mu.Unlock()
	_, err = admin.AddWebhook(ctx, api.WebhookRequest{URL: hooks.URL, Types: []string{"play.paused"}})
	require.True(t, client.IsStatus(err, http.StatusBadRequest), "%v", err)

	_, err = admin.AddMonitor(ctx, api.MonitorRequest{URL: "ftp://radio.example/live", Name: "FTP FM"})
	require.True(t, client.IsStatus(err, http.StatusUnprocessableEntity), "%v", err)
	mon, err := admin.AddMonitor(ctx, api.MonitorRequest{URL: radio.URL, Name: "Radio Test", Territory: "DE"})
	require.NoError(t, err)

	// The event stream, from its first event, until the play ends.
	var seen []api.Event
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	err = admin.Events(sctx, client.EventQuery{FromStart: true, Monitors: []string{mon.ID}}, func(ev api.Event) error {
		seen = append(seen, ev)
		if ev.Type == "play.ended" {
			stop()
		}
		return nil
	})
	require.NoError(t, err)
	var plays []api.Play
	var states []string
	for _, ev := range seen {
		switch ev.Type {
		case "play.started", "play.ended":
			var p api.Play
			require.NoError(t, json.Unmarshal(ev.Data, &p))
			plays = append(plays, p)
		case "monitor.state":
			var st api.MonitorStatus
			require.NoError(t, json.Unmarshal(ev.Data, &st))
			states = append(states, st.State)
		}
	}
	require.Len(t, plays, 2, "started, then ended")
	assert.Equal(t, "W1", plays[0].Work.ID)
	assert.Equal(t, plays[0].ID, plays[1].ID)
	assert.Equal(t, "Radio Test", plays[1].Station)
	assert.Equal(t, "ended", plays[1].EndReason)
	assert.InDelta(t, 30, plays[1].Work.QueryEndS-plays[1].Work.QueryStartS, 2, "30 s of song")
	assert.InDelta(t, 6, plays[1].Work.QueryStartS, 2)
	assert.NotEmpty(t, plays[1].Work.Owners, "an admin's monitor carries the owners")
	assert.Contains(t, states, api.MonitorPlaying)

	require.Eventually(t, func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return len(recv.got) == 2
	}, 30*time.Second, 50*time.Millisecond, "the webhook gets both events")
	recv.mu.Lock()
	assert.Equal(t, []string{"play.started", "play.ended"}, recv.types)
	for k, n := range recv.got {
		assert.Equal(t, 1, n, "%s taken once", k)
	}
	assert.Zero(t, recv.badSig)
	recv.mu.Unlock()
	st, err := admin.Webhook(ctx, hook.ID)
	require.NoError(t, err)
	assert.Empty(t, st.Secret)
	assert.Equal(t, int64(2), st.Delivered)

	got, err := admin.Monitor(ctx, mon.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Status.Plays)
	// Another tenant sees neither the monitor nor its events.
	other := e.client(t, "labelB")
	_, err = other.Monitor(ctx, mon.ID)
	assert.True(t, client.IsStatus(err, http.StatusNotFound))
	list, err := other.ListMonitors(ctx)
	require.NoError(t, err)
	assert.Empty(t, list.Monitors)
	assert.Positive(t, list.Capacity)

	require.NoError(t, admin.RemoveMonitor(ctx, mon.ID))
	_, err = admin.Monitor(ctx, mon.ID)
	assert.True(t, client.IsStatus(err, http.StatusNotFound))
	require.NoError(t, admin.RemoveWebhook(ctx, hook.ID))
	hs, err := admin.ListWebhooks(ctx)
	require.NoError(t, err)
	assert.Empty(t, hs)
}
