package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cueprint/cueprint/index/manifest"
	"github.com/cueprint/cueprint/server/api"
)

// errShuttingDown: no new jobs once shutdown began.
var errShuttingDown = errors.New("server: shutting down")

// Limits of bulk registration.
const (
	maxManifestBytes = 64 << 20
	// keepFinishedJobs is how many finished jobs stay queryable.
	keepFinishedJobs = 1000
)

// jobs runs bulk registrations in the background. Job state lives in
// memory: each registration is durable as it commits, and a job cut short
// by a restart is resumed by posting the manifest again with replace.
type jobs struct {
	s        *Server
	mu       sync.Mutex
	byID     map[string]*job
	finished []string // IDs in finishing order, oldest first
	closed   bool
	wg       sync.WaitGroup
}

type job struct {
	mu     sync.Mutex
	api    api.Job
	tenant string
	cancel context.CancelFunc
}

func newJobs(s *Server) *jobs { return &jobs{s: s, byID: map[string]*job{}} }

func (j *jobs) stopAccepting() {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
}

// wait waits for running jobs until ctx ends.
func (j *jobs) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (j *jobs) get(id string, c *call) (*job, error) {
	j.mu.Lock()
	jb, ok := j.byID[id]
	j.mu.Unlock()
	if !ok || !c.owns(jb.tenant) {
		return nil, apiErr(http.StatusNotFound, codeNotFound, "job %q not found", id)
	}
	return jb, nil
}

func (jb *job) snapshot() api.Job {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	out := jb.api
	out.Errors = append([]api.JobError{}, jb.api.Errors...)
	return out
}

// postBulk starts a bulk registration from a CSV manifest (index/manifest
// format; media by path under MediaRoot or by URL). ?replace=true replaces
// works already registered (the caller's own).
func (s *Server) postBulk(w http.ResponseWriter, r *http.Request, c *call) error {
	replace, err := boolParam(r, "replace")
	if err != nil {
		return err
	}
	if err := s.store.CheckWritable(); err != nil {
		return err
	}
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	s.limitBody(w, r, maxManifestBytes)
	rows, err := manifest.Parse(r.Body)
	release()
	if err != nil {
		if errors.Is(err, errUploadTooSlow) {
			return uploadErr(err)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	if len(rows) == 0 {
		return apiErr(http.StatusBadRequest, codeBadRequest, "manifest has no rows")
	}
	// Every row goes into the caller's tenant (an admin's own tenant too:
	// manifests carry no tenant column).
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	jb := &job{tenant: c.key.Tenant, api: api.Job{ID: hex.EncodeToString(idb[:]), Kind: "bulk_register", State: "running",
		Total: len(rows), Errors: []api.JobError{}, CreatedAt: time.Now().UTC()}}
	ctx, cancel := context.WithCancel(s.root)
	jb.cancel = cancel
	s.jobs.mu.Lock()
	if s.jobs.closed {
		s.jobs.mu.Unlock()
		cancel()
		return errShuttingDown
	}
	s.jobs.byID[jb.api.ID] = jb
	s.jobs.wg.Add(1)
	s.jobs.mu.Unlock()
	log := c.log.With("job_id", jb.api.ID)
	go func() {
		defer s.jobs.wg.Done()
		defer cancel()
		s.runBulk(ctx, jb, rows, replace, c, log)
	}()
	log.Info("bulk registration started", "rows", len(rows))
	w.Header().Set("Location", "/v1/jobs/"+jb.api.ID)
	writeJSON(w, http.StatusAccepted, jb.snapshot())
	return nil
}

// runBulk registers the rows, Workers at a time, each in a worker slot
// shared with interactive requests.
func (s *Server) runBulk(ctx context.Context, jb *job, rows []manifest.Row, replace bool, c *call, log *slog.Logger) {
	fail := func(row manifest.Row, err error) {
		e := errorOf(err)
		jb.mu.Lock()
		jb.api.Done++
		jb.api.Failed++
		if len(jb.api.Errors) < 10_000 {
			jb.api.Errors = append(jb.api.Errors, api.JobError{Line: row.Line, ID: row.Work.ID, Code: e.Code, Error: err.Error()})
		}
		jb.mu.Unlock()
		s.metrics.registrations.WithLabelValues("error").Inc()
	}
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, row := range rows {
		if row.Err != nil {
			fail(row, apiErr(http.StatusBadRequest, codeInvalidWork, "%v", row.Err))
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.registerRow(ctx, row, replace, c); err != nil {
				fail(row, err)
				return
			}
			jb.mu.Lock()
			jb.api.Done++
			jb.api.Registered++
			jb.mu.Unlock()
		}()
	}
	wg.Wait()
	now := time.Now().UTC()
	jb.mu.Lock()
	jb.api.State = "done"
	if ctx.Err() != nil {
		jb.api.State = "cancelled"
	}
	jb.api.FinishedAt = &now
	snap := jb.api
	jb.mu.Unlock()
	log.Info("bulk registration finished", "state", snap.State, "registered", snap.Registered, "failed", snap.Failed)

	s.jobs.mu.Lock()
	s.jobs.finished = append(s.jobs.finished, snap.ID)
	for len(s.jobs.finished) > keepFinishedJobs {
		delete(s.jobs.byID, s.jobs.finished[0])
		s.jobs.finished = s.jobs.finished[1:]
	}
	s.jobs.mu.Unlock()
}

func (s *Server) registerRow(ctx context.Context, row manifest.Row, replace bool, c *call) error {
	ref := row.URL
	if ref == "" {
		ref = row.Path
	}
	sp, err := s.openMedia(ctx, ref)
	if err != nil {
		return err
	}
	defer sp.Close()
	work := row.Work
	work.Tenant = c.key.Tenant
	mp, err := s.extract(ctx, sp, true)
	if err != nil {
		return err
	}
	work.DurationS = mp.Duration().Seconds()
	_, _, err = s.register(ctx, work, mp, replace)
	return err
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, c *call) error {
	jb, err := s.jobs.get(r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jb.snapshot())
	return nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, c *call) error {
	jb, err := s.jobs.get(r.PathValue("id"), c)
	if err != nil {
		return err
	}
	jb.cancel()
	writeJSON(w, http.StatusOK, jb.snapshot())
	return nil
}
