package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/events"
	"github.com/cueprint/cueprint/server/monitor"
	"github.com/cueprint/cueprint/server/scan"
)

// live is the daemon's listening side: the event log, its webhooks and
// the monitors that feed it. Its files live in the store's directory
// (events/, hooks/, monitors/), or in a temporary one for a store in
// memory.
type live struct {
	events   *events.Log
	hooks    *events.Hooks
	monitors *monitor.Manager
	tmpDir   string
	load     *monitorLoad
	once     sync.Once
}

// benchCorePerMonitor is a monitor's share of a core measured by
// BenchmarkMonitors (48 monitors on 2 cores, 1.9 %), rounded up: what
// the daemon assumes until it has measured its own.
const benchCorePerMonitor = 0.02

// monitorLoad measures the process's CPU while monitors run: its share
// per monitor, over each minute (the whole process's, so an upper
// bound when requests are served too).
type monitorLoad struct {
	mu       sync.Mutex
	perMon   float64
	cpu      time.Duration
	at       time.Time
	monitors func() int
}

func (l *monitorLoad) sample(now time.Time) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.monitors(); n > 0 && !l.at.IsZero() {
		if wall := now.Sub(l.at); wall > 0 {
			l.perMon = (cpu - l.cpu).Seconds() / wall.Seconds() / float64(n)
		}
	}
	l.cpu, l.at = cpu, now
}

// capacity returns a monitor's share of a core and how many the
// machine's cores hold.
func (l *monitorLoad) capacity() (float64, int) {
	l.mu.Lock()
	per := l.perMon
	l.mu.Unlock()
	if per <= 0 {
		per = benchCorePerMonitor
	}
	return math.Round(per*1e4) / 1e4, int(float64(runtime.NumCPU()) * 0.8 / per)
}

// newLive opens the store's events, webhooks and monitors, and starts
// the monitors.
func newLive(s *Server, reg prometheus.Registerer) (*live, error) {
	l := &live{}
	dir := s.store.Dir()
	if dir == "" {
		d, err := os.MkdirTemp("", "cueprint-live-")
		if err != nil {
			return nil, err
		}
		dir, l.tmpDir = d, d
	}
	var err error
	if l.events, err = events.Open(filepath.Join(dir, "events")); err != nil {
		return nil, err
	}
	plays := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cueprint_monitor_events_total", Help: "Events recorded by monitors, by type (play.started, play.ended, monitor.state).",
	}, []string{"type"})
	record := func(typ, mon, tenant string, data any) error {
		_, err := l.events.Append(typ, mon, tenant, data)
		if err == nil {
			plays.WithLabelValues(typ).Inc()
		}
		return err
	}
	if l.hooks, err = events.OpenHooks(filepath.Join(dir, "hooks"), l.events, events.HookOptions{Log: s.log}); err != nil {
		return nil, err
	}
	p := match.DefaultParams()
	p.HopSeconds, p.Live = monitor.HopS, true
	mm, err := match.New(s.store, p, s.log)
	if err != nil {
		return nil, err
	}
	l.monitors, err = monitor.Open(monitor.Config{
		Dir: dir, Matcher: mm, Open: s.openLive, Check: s.checkLive, Record: record, Work: s.limit.do,
		MinConfidence: scan.DefaultSettings().MinConfidence, Segment: api.NewSegment, Log: s.log,
	})
	if err != nil {
		return nil, err
	}
	l.load = &monitorLoad{monitors: func() int { return len(l.monitors.List("", true)) }}
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		l.load.sample(time.Now())
		for {
			select {
			case <-s.root.Done():
				return
			case now := <-t.C:
				l.load.sample(now)
			}
		}
	}()
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cueprint_monitor_capacity", Help: "How many monitors the daemon's cores hold at the CPU a monitor takes now.",
	}, func() float64 { _, n := l.load.capacity(); return float64(n) })
	states := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cueprint_monitors", Help: "Monitors.",
	}, func() float64 { return float64(len(l.monitors.List("", true))) })
	byState := newStateCollector(l.monitors)
	behind := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cueprint_webhook_events_behind", Help: "Events not yet taken by the most lagging webhook.",
	}, func() float64 {
		var most uint64
		for _, h := range l.hooks.List() {
			most = max(most, h.Behind)
		}
		return float64(most)
	})
	for _, c := range []prometheus.Collector{plays, states, byState, behind, capacity} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// close stops the monitors and the webhooks' deliveries and closes the
// log.
func (l *live) close() {
	l.once.Do(func() {
		l.monitors.Close()
		l.hooks.Close()
		l.events.Close()
		if l.tmpDir != "" {
			os.RemoveAll(l.tmpDir)
		}
	})
}

// stateCollector reports cueprint_monitor_state{state}: the monitors in
// each state.
type stateCollector struct {
	m    *monitor.Manager
	desc *prometheus.Desc
}

func newStateCollector(m *monitor.Manager) *stateCollector {
	return &stateCollector{m: m, desc: prometheus.NewDesc("cueprint_monitor_state", "Monitors in each state.", []string{"state"}, nil)}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.m.States()
	for _, st := range []string{api.MonitorConnecting, api.MonitorPlaying, api.MonitorSilent, api.MonitorStalled, api.MonitorReconnecting, api.MonitorFailed} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[st]), st)
	}
}

// checkLive refuses a stream URL the daemon may not listen to: http(s)
// only, and only with remote URLs allowed.
func (s *Server) checkLive(ref string) error {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "stream %q: want an http or https URL (an Icecast or SHOUTcast stream, an HLS playlist)", ref)
	}
	if !s.conf().AllowRemoteURLs {
		return apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "remote URLs are disabled on this server (serve --allow-remote-urls)")
	}
	return nil
}

func (s *Server) openLive(ctx context.Context, ref string) (io.ReadCloser, error) {
	if err := s.checkLive(ref); err != nil {
		return nil, err
	}
	u, _ := url.Parse(ref)
	return OpenLive(ctx, u)
}

// liveErr turns the monitor and events packages' errors into API errors.
func liveErr(err error) error {
	switch {
	case errors.Is(err, monitor.ErrNotFound), errors.Is(err, events.ErrHookNotFound):
		return apiErr(http.StatusNotFound, codeNotFound, "%v", err)
	case errors.Is(err, monitor.ErrInvalid), errors.Is(err, events.ErrInvalidHook):
		return apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	return err
}

// attributes reports whether c's plays and events carry every work's
// owners (as match answers do: admins and matchers).
func attributes(c *call) bool { return c.admin() || c.key.Role == auth.Matcher }

func (s *Server) postMonitor(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.MonitorRequest
	if err := decodeJSONBody(io.LimitReader(r.Body, 64<<10), &req); err != nil {
		return apiErr(http.StatusBadRequest, codeBadRequest, "monitor request: %v", err)
	}
	m, err := s.live.monitors.Add(req, c.key.Tenant, attributes(c))
	if err != nil {
		return liveErr(err)
	}
	c.log.Info("monitor added", "monitor", m.ID, "name", m.Name)
	w.Header().Set("Location", "/v1/monitors/"+m.ID)
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) listMonitors(w http.ResponseWriter, r *http.Request, c *call) error {
	per, capacity := s.live.load.capacity()
	writeJSON(w, http.StatusOK, api.MonitorList{Monitors: s.live.monitors.List(c.key.Tenant, c.admin()), CorePerMonitor: per, Capacity: capacity})
	return nil
}

// ownMonitor returns monitor id if c may see it (another tenant's is not
// found).
func (s *Server) ownMonitor(id string, c *call) (api.Monitor, error) {
	m, err := s.live.monitors.Get(id)
	if err != nil || !c.admin() && m.Tenant != c.key.Tenant {
		return api.Monitor{}, apiErr(http.StatusNotFound, codeNotFound, "monitor %q not found", id)
	}
	return m, nil
}

func (s *Server) getMonitor(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := s.ownMonitor(r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) deleteMonitor(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.ownMonitor(r.PathValue("id"), c); err != nil {
		return err
	}
	if err := s.live.monitors.Remove(r.PathValue("id")); err != nil {
		return liveErr(err)
	}
	c.log.Info("monitor removed", "monitor", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// eventFilter is the filter of c's request: ?type= and ?monitor=
// (comma-separated or repeated), within c's tenant.
func eventFilter(r *http.Request, c *call) (events.Filter, error) {
	f := events.Filter{Tenant: c.key.Tenant, All: c.admin()}
	list := func(name string) []string {
		var out []string
		for _, v := range r.URL.Query()[name] {
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		return out
	}
	f.Types, f.Monitors = list("type"), list("monitor")
	if err := f.Validate(); err != nil {
		return f, apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	return f, nil
}

// sseHeartbeat is how often an idle event stream sends a comment, so that
// proxies keep it open and a dead client is noticed.
const sseHeartbeat = 15 * time.Second

// getEvents streams events as Server-Sent Events: each an "id:" (resume
// with Last-Event-ID or ?after=), an "event:" (its type) and a "data:"
// line (the api.Event), from after the given id (the next event, by
// default) until the client goes.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := eventFilter(r, c)
	if err != nil {
		return err
	}
	after := s.live.events.Last()
	from := r.Header.Get("Last-Event-ID")
	if v := r.URL.Query().Get("after"); v != "" {
		from = v
	}
	if from != "" {
		if after, err = strconv.ParseUint(from, 10, 64); err != nil {
			return apiErr(http.StatusBadRequest, codeBadRequest, "after %q: want an event id", from)
		}
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.draining, cancel) // shutdown ends event streams
	defer stop()
	for {
		evs, seen, err := s.live.events.Read(after, 256, f.Match)
		if err != nil {
			return err
		}
		for _, e := range evs {
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, b); err != nil {
				return nil // the client went
			}
		}
		after = seen
		if len(evs) > 0 {
			if err := rc.Flush(); err != nil {
				return nil
			}
			continue
		}
		wctx, wcancel := context.WithTimeout(ctx, sseHeartbeat)
		err = s.live.events.Wait(wctx, after)
		wcancel()
		switch {
		case ctx.Err() != nil || errors.Is(err, events.ErrClosed):
			return nil
		case err != nil: // the heartbeat
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}

func webhookJSON(h events.HookStatus) api.Webhook {
	return api.Webhook{ID: h.ID, URL: h.URL, Types: h.Types, Monitors: h.Monitors, Tenant: h.Hook.Filter.Tenant, Secret: h.Secret,
		CreatedAt: h.CreatedAt, DeliveredThrough: h.DeliveredThrough, Behind: h.Behind, Delivered: h.Delivered,
		Failures: h.Failures, LastError: h.LastError, NextAttempt: h.NextAttempt}
}

// ownWebhook returns webhook id if c may see it.
func (s *Server) ownWebhook(id string, c *call) (events.HookStatus, error) {
	h, err := s.live.hooks.Get(id)
	if err != nil || !c.admin() && (h.Filter.All || h.Filter.Tenant != c.key.Tenant) {
		return events.HookStatus{}, apiErr(http.StatusNotFound, codeNotFound, "webhook %q not found", id)
	}
	return h, nil
}

func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.WebhookRequest
	if err := decodeJSONBody(io.LimitReader(r.Body, 64<<10), &req); err != nil {
		return apiErr(http.StatusBadRequest, codeBadRequest, "webhook request: %v", err)
	}
	u, err := url.Parse(req.URL)
	if err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") && !s.conf().AllowRemoteURLs {
		return apiErr(http.StatusUnprocessableEntity, codeURLNotAllowed, "remote URLs are disabled on this server (serve --allow-remote-urls)")
	}
	h, err := s.live.hooks.Add(events.Hook{URL: req.URL, Secret: req.Secret,
		Filter: events.Filter{Types: req.Types, Monitors: req.Monitors, Tenant: c.key.Tenant, All: c.admin()}})
	if err != nil {
		return liveErr(err)
	}
	c.log.Info("webhook added", "webhook", h.ID)
	st, err := s.live.hooks.Get(h.ID)
	if err != nil {
		return liveErr(err)
	}
	out := webhookJSON(st)
	out.Secret = h.Secret
	w.Header().Set("Location", "/v1/webhooks/"+h.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	out := api.WebhookList{Webhooks: []api.Webhook{}}
	for _, h := range s.live.hooks.List() {
		if c.admin() || !h.Filter.All && h.Filter.Tenant == c.key.Tenant {
			out.Webhooks = append(out.Webhooks, webhookJSON(h))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	h, err := s.ownWebhook(r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookJSON(h))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.ownWebhook(r.PathValue("id"), c); err != nil {
		return err
	}
	if err := s.live.hooks.Remove(r.PathValue("id")); err != nil {
		return liveErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
