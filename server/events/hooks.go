package events

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cueprint/cueprint/server/internal/atomicfile"
	"github.com/cueprint/cueprint/server/internal/records"
)

// Webhooks. Each hook has a deliverer that sends the log's events, in
// order, one at a time, to the hook's URL as a POST of the Event's JSON,
// and moves on when the receiver answers 2xx. A failed delivery (an
// error, a timeout, any other status) is retried after an exponential
// backoff (Backoff) until it succeeds or the hook is removed: delivery is
// at least once, and the Idempotency-Key header (Event.Key) lets the
// receiver drop a repeat. The hook's progress, the id of the last event
// it has taken, is written to its cursor file after each delivery: after
// a crash the deliverer resumes from there, re-sending at most the one
// event whose cursor write the crash cut.
//
// Each request is signed as Stripe and GitHub sign theirs: the header
//
//	Cueprint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// lets the receiver check that the body came from the daemon and is
// fresh (reject a t more than a few minutes old).
//
// Files, in the store's hooks/ directory: <id>.json, the hook (written
// once, whole or not at all), and <id>.cursor, its progress.

// Hook is a webhook.
type Hook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Filter selects the events sent (all when empty).
	Filter
	// Secret signs the deliveries. It is never shown again after the
	// hook is created.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// HookStatus is a hook with its delivery progress.
type HookStatus struct {
	Hook
	// DeliveredThrough is the id of the last event the hook has taken
	// (or skipped, not being of its types); Behind counts the log's
	// events after it, of any type.
	DeliveredThrough uint64 `json:"delivered_through"`
	Behind           uint64 `json:"behind"`
	// Failures counts the failed attempts at the current event; LastError
	// says why the last one failed, NextAttempt when it is tried again.
	Failures    int        `json:"failures"`
	LastError   string     `json:"last_error,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	Delivered   int64      `json:"delivered"`
}

// HookOptions configures Hooks.
type HookOptions struct {
	// Client sends the deliveries (default: a client with a 10 s
	// timeout).
	Client *http.Client
	// Backoff is the wait before retry n (from 1) of an event (default
	// DefaultBackoff).
	Backoff func(n int) time.Duration
	Log     *slog.Logger
}

// DefaultBackoff waits 1 s before the first retry, doubling up to 10
// minutes, each wait drawn from half to one and a half times that.
func DefaultBackoff(n int) time.Duration {
	d := time.Duration(math.Min(float64(time.Second)*math.Pow(2, float64(n-1)), float64(10*time.Minute)))
	return time.Duration(float64(d) * (0.5 + mrand.Float64()))
}

// ErrHookNotFound: no hook has that id.
var ErrHookNotFound = errors.New("webhook not found")

// ErrInvalidHook: a hook the caller must change.
var ErrInvalidHook = errors.New("invalid webhook")

// Hooks delivers the log's events to webhooks.
type Hooks struct {
	log   *Log
	dir   string
	o     HookOptions
	mu    sync.Mutex
	hooks map[string]*deliverer
	base  context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// deliverer is a hook's delivery state.
type deliverer struct {
	hook   Hook
	cancel context.CancelFunc
	done   chan struct{} // closed when its run returns
	mu     sync.Mutex
	status HookStatus
}

// OpenHooks loads the hooks kept in dir and starts their deliveries.
func OpenHooks(dir string, log *Log, o HookOptions) (*Hooks, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	base, stop := context.WithCancel(context.Background())
	h := &Hooks{log: log, dir: dir, o: o, hooks: map[string]*deliverer{}, base: base, stop: stop}
	err := records.Load(dir, func(id string, hook Hook) {
		if hook.ID != id {
			o.Log.Warn("webhook not loaded", "file", id+".json", "err", "its id is "+hook.ID)
			return
		}
		cursor, err := h.readCursor(id)
		if err != nil {
			o.Log.Warn("webhook not loaded", "webhook", id, "err", err)
			return
		}
		h.start(hook, cursor)
	}, func(name string, err error) { o.Log.Warn("webhook not loaded", "file", name, "err", err) })
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return h, nil
}

// Add validates a hook (URL, types), gives it an id and a secret if it
// has none, stores it and starts its deliveries with the events after
// the log's last. It returns the hook, secret included.
func (h *Hooks) Add(hook Hook) (Hook, error) {
	u, err := url.Parse(hook.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Hook{}, fmt.Errorf("%w: url %q: want an http or https URL", ErrInvalidHook, hook.URL)
	}
	if err := hook.Filter.Validate(); err != nil {
		return Hook{}, fmt.Errorf("%w: %v", ErrInvalidHook, err)
	}
	hook.ID = "hook-" + randomHex(8)
	if hook.Secret == "" {
		hook.Secret = "whsec_" + randomHex(24)
	}
	hook.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	cursor := h.log.Last()
	if err := h.writeCursor(hook.ID, cursor); err != nil {
		return Hook{}, err
	}
	if err := records.Write(h.dir, hook.ID, hook); err != nil {
		return Hook{}, fmt.Errorf("webhook %s: %w", hook.ID, err)
	}
	h.start(hook, cursor)
	return hook, nil
}

// Remove stops a hook's deliveries and deletes it.
func (h *Hooks) Remove(id string) error {
	h.mu.Lock()
	d, ok := h.hooks[id]
	delete(h.hooks, id)
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrHookNotFound, id)
	}
	d.cancel()
	<-d.done
	if err := os.Remove(filepath.Join(h.dir, id+".json")); err != nil {
		return fmt.Errorf("webhook %s: %w", id, err)
	}
	_ = os.Remove(filepath.Join(h.dir, id+".cursor"))
	return nil
}

// List returns every hook's status (secrets left out), by creation.
func (h *Hooks) List() []HookStatus {
	h.mu.Lock()
	ds := make([]*deliverer, 0, len(h.hooks))
	for _, d := range h.hooks {
		ds = append(ds, d)
	}
	h.mu.Unlock()
	out := make([]HookStatus, 0, len(ds))
	for _, d := range ds {
		out = append(out, h.statusOf(d))
	}
	slices.SortFunc(out, func(a, b HookStatus) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Get returns a hook's status (its secret left out).
func (h *Hooks) Get(id string) (HookStatus, error) {
	h.mu.Lock()
	d, ok := h.hooks[id]
	h.mu.Unlock()
	if !ok {
		return HookStatus{}, fmt.Errorf("%w: %q", ErrHookNotFound, id)
	}
	return h.statusOf(d), nil
}

func (h *Hooks) statusOf(d *deliverer) HookStatus {
	d.mu.Lock()
	s := d.status
	d.mu.Unlock()
	s.Hook = d.hook
	s.Secret = ""
	if last := h.log.Last(); last > s.DeliveredThrough {
		s.Behind = last - s.DeliveredThrough
	}
	return s
}

// Close stops every delivery and waits for them.
func (h *Hooks) Close() {
	h.stop()
	h.wg.Wait()
}

func (h *Hooks) start(hook Hook, cursor uint64) {
	ctx, cancel := context.WithCancel(h.base)
	d := &deliverer{hook: hook, cancel: cancel, done: make(chan struct{}), status: HookStatus{DeliveredThrough: cursor}}
	h.mu.Lock()
	h.hooks[hook.ID] = d
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(d.done)
		h.run(ctx, d, cursor)
	}()
}

// run delivers d's events from after cursor until ctx ends.
func (h *Hooks) run(ctx context.Context, d *deliverer, cursor uint64) {
	for ctx.Err() == nil {
		evs, seen, err := h.log.Read(cursor, 64, d.hook.Filter.Match)
		if err != nil {
			h.o.Log.Error("webhook: read events", "webhook", d.hook.ID, "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		for _, e := range evs {
			if !h.deliver(ctx, d, e) {
				return
			}
			cursor = e.ID
			h.progress(d, cursor)
		}
		if seen > cursor {
			cursor = seen // events of other types or monitors
			h.progress(d, cursor)
		}
		if len(evs) == 0 {
			if err := h.log.Wait(ctx, cursor); err != nil {
				return
			}
		}
	}
}

// progress records that d has taken every event through id.
func (h *Hooks) progress(d *deliverer, id uint64) {
	if err := h.writeCursor(d.hook.ID, id); err != nil {
		// The deliveries go on; after a crash some are sent again.
		h.o.Log.Error("webhook: cursor not saved", "webhook", d.hook.ID, "err", err)
	}
	d.mu.Lock()
	d.status.DeliveredThrough = id
	d.mu.Unlock()
}

// deliver sends e until the receiver takes it; false when ctx ended first.
func (h *Hooks) deliver(ctx context.Context, d *deliverer, e Event) bool {
	body, err := json.Marshal(e)
	if err != nil {
		h.o.Log.Error("webhook: event not encoded", "event", e.ID, "err", err)
		return true
	}
	for n := 1; ; n++ {
		err := h.post(ctx, d.hook, e, body)
		if ctx.Err() != nil {
			return false
		}
		d.mu.Lock()
		if err == nil {
			d.status.Failures, d.status.LastError, d.status.NextAttempt = 0, "", nil
			d.status.Delivered++
			d.mu.Unlock()
			return true
		}
		wait := h.o.Backoff(n)
		next := time.Now().Add(wait).UTC().Truncate(time.Millisecond)
		d.status.Failures, d.status.LastError, d.status.NextAttempt = n, err.Error(), &next
		d.mu.Unlock()
		h.o.Log.Warn("webhook delivery failed", "webhook", d.hook.ID, "event", e.ID, "attempt", n, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// post sends one delivery of e.
func (h *Hooks) post(ctx context.Context, hook Hook, e Event, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cueprint-webhook")
	req.Header.Set("Idempotency-Key", Key(e))
	req.Header.Set("Cueprint-Event", e.Type)
	req.Header.Set("Cueprint-Signature", Sign(hook.Secret, time.Now(), body))
	resp, err := h.o.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// Sign returns the Cueprint-Signature header of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// mac is the HMAC-SHA256 of "<ts>.<body>" with secret.
func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Cueprint-Signature header against body and secret,
// and that it was made within maxAge of now: what a receiver does.
func Verify(secret, header string, body []byte, now time.Time, maxAge time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("signature header %q: want t=<unix seconds>,v1=<hex>", header)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > maxAge || age < -maxAge {
		return fmt.Errorf("signature made %s from now, more than %s", age.Round(time.Second), maxAge)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(mac(secret, ts, body), got) {
		return errors.New("signature does not match the body")
	}
	return nil
}

func (h *Hooks) readCursor(id string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(h.dir, id+".cursor"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func (h *Hooks) writeCursor(id string, c uint64) error {
	return atomicfile.WriteFile(filepath.Join(h.dir, id+".cursor"), []byte(strconv.FormatUint(c, 10)+"\n"), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
