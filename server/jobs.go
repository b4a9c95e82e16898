package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
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
	// keepFinishedJobs is how many finished jobs stay queryable (and on
	// disk); the oldest go first.
	keepFinishedJobs = 1000
	// maxJobErrors bounds the errors a job's answer lists (its log on
	// disk keeps every one).
	maxJobErrors = 10_000
)

// jobs runs bulk registrations in the background. Each job is kept on
// disk (jobStore) as it goes: its report survives a restart, and a job a
// restart cut short resumes where it was, with no row done twice.
type jobs struct {
	s        *Server
	store    *jobStore
	mu       sync.Mutex
	byID     map[string]*job
	finished []string // IDs in finishing order, oldest first
	closed   bool
	wg       sync.WaitGroup
}

type job struct {
	mu     sync.Mutex
	api    api.Job
	header jobHeader
	log    *jobLog
	cancel context.CancelFunc
	// resumed: the job was cut short by a restart, so a row's work may
	// have been registered by it with its log line lost.
	resumed bool
}

func newJobs(s *Server) (*jobs, error) {
	js, err := newJobStore(s.store.Dir())
	if err != nil {
		return nil, err
	}
	return &jobs{s: s, store: js, byID: map[string]*job{}}, nil
}

// resume loads the jobs on disk: finished ones become queryable again,
// running ones are started where they stopped.
func (j *jobs) resume() {
	stored, errs := j.store.load()
	for _, err := range errs {
		j.s.log.Warn("job not loaded", "err", err)
	}
	for _, sj := range stored {
		jb := &job{api: sj.api, header: sj.header, resumed: !sj.finished}
		if sj.finished {
			j.mu.Lock()
			j.byID[jb.api.ID] = jb
			j.finished = append(j.finished, jb.api.ID)
			j.mu.Unlock()
			continue
		}
		rows, err := manifest.Parse(bytes.NewReader(sj.manifest))
		if err != nil {
			j.s.log.Warn("job not resumed: manifest unreadable", "job_id", jb.api.ID, "err", err)
			continue
		}
		var todo []manifest.Row
		for _, r := range rows {
			if !sj.done[r.Line] {
				todo = append(todo, r)
			}
		}
		if err := j.start(jb, todo, j.s.log.With("job_id", jb.api.ID)); err != nil {
			j.s.log.Warn("job not resumed", "job_id", jb.api.ID, "err", err)
			continue
		}
		j.s.log.Info("bulk registration resumed", "job_id", jb.api.ID, "done", jb.api.Done, "left", len(todo))
	}
	j.trim()
}

// start registers jb and runs rows in the background.
func (j *jobs) start(jb *job, rows []manifest.Row, log *slog.Logger) error {
	l, err := j.store.openLog(jb.api.ID)
	if err != nil {
		return err
	}
	jb.log = l
	ctx, cancel := context.WithCancel(j.s.root)
	jb.cancel = cancel
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		cancel()
		l.close()
		return errShuttingDown
	}
	j.byID[jb.api.ID] = jb
	j.wg.Add(1)
	j.mu.Unlock()
	go func() {
		defer j.wg.Done()
		defer cancel()
		defer l.close()
		j.s.runBulk(ctx, jb, rows, log)
	}()
	return nil
}

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

// trim forgets (and deletes) the oldest finished jobs beyond
// keepFinishedJobs.
func (j *jobs) trim() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for len(j.finished) > keepFinishedJobs {
		id := j.finished[0]
		delete(j.byID, id)
		j.store.remove(id)
		j.finished = j.finished[1:]
	}
}

func (j *jobs) get(id string, c *call) (*job, error) {
	j.mu.Lock()
	jb, ok := j.byID[id]
	j.mu.Unlock()
	if !ok || !c.owns(jb.header.Tenant) {
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
	raw, err := io.ReadAll(r.Body)
	release()
	if err != nil {
		return uploadErr(err)
	}
	rows, err := manifest.Parse(bytes.NewReader(raw))
	if err != nil {
		return apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	if len(rows) == 0 {
		return apiErr(http.StatusBadRequest, codeBadRequest, "manifest has no rows")
	}
	// Every row goes into the caller's tenant (an admin's own tenant too:
	// manifests carry no tenant column).
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	now := time.Now().UTC()
	h := jobHeader{ID: hex.EncodeToString(idb[:]), Kind: "bulk_register", Tenant: c.key.Tenant, Replace: replace, Total: len(rows), CreatedAt: now}
	jb := &job{header: h, api: api.Job{ID: h.ID, Kind: h.Kind, State: "running", Total: h.Total, Errors: []api.JobError{}, CreatedAt: now}}
	if err := s.jobs.store.create(h, raw); err != nil {
		return err // a full disk: 507
	}
	log := c.log.With("job_id", h.ID)
	if err := s.jobs.start(jb, rows, log); err != nil {
		s.jobs.store.remove(h.ID)
		return err
	}
	log.Info("bulk registration started", "rows", len(rows))
	w.Header().Set("Location", "/v1/jobs/"+h.ID)
	writeJSON(w, http.StatusAccepted, jb.snapshot())
	return nil
}

// runBulk registers the rows, Workers at a time, each in a worker slot
// shared with interactive requests, logging each outcome before it is
// counted.
func (s *Server) runBulk(ctx context.Context, jb *job, rows []manifest.Row, log *slog.Logger) {
	record := func(row manifest.Row, err error) {
		ev := jobEvent{Line: row.Line, OK: err == nil}
		if err != nil {
			e := errorOf(err)
			ev.Err = &api.JobError{Line: row.Line, ID: row.Work.ID, Code: e.Code, Error: err.Error()}
			s.metrics.registrations.WithLabelValues("error").Inc()
		}
		if lerr := jb.log.add(ev); lerr != nil {
			// Counted all the same; at a restart the row is done again.
			log.Warn("job log not written", "err", lerr)
		}
		jb.mu.Lock()
		defer jb.mu.Unlock()
		jb.api.Done++
		if err == nil {
			jb.api.Registered++
			return
		}
		jb.api.Failed++
		if len(jb.api.Errors) < maxJobErrors {
			jb.api.Errors = append(jb.api.Errors, *ev.Err)
		}
	}
	sem := make(chan struct{}, s.conf().Workers)
	var wg sync.WaitGroup
	for _, row := range rows {
		if row.Err != nil {
			record(row, apiErr(http.StatusBadRequest, codeInvalidWork, "%v", row.Err))
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
			err := s.registerRow(ctx, row, jb.header, jb.resumed)
			if ctx.Err() != nil && err != nil {
				return // cut short: done again if the job resumes
			}
			record(row, err)
		}()
	}
	wg.Wait()
	if s.root.Err() != nil {
		// The daemon is stopping: the job stays running on disk and
		// resumes at the next start.
		log.Info("bulk registration interrupted by shutdown")
		return
	}
	now := time.Now().UTC()
	jb.mu.Lock()
	jb.api.State = "done"
	if ctx.Err() != nil {
		jb.api.State = "cancelled"
	}
	jb.api.FinishedAt = &now
	snap := jb.api
	jb.mu.Unlock()
	if err := jb.log.add(jobEvent{State: snap.State, FinishedAt: &now}); err != nil {
		log.Warn("job log not written", "err", err)
	}
	log.Info("bulk registration finished", "state", snap.State, "registered", snap.Registered, "failed", snap.Failed)

	s.jobs.mu.Lock()
	s.jobs.finished = append(s.jobs.finished, snap.ID)
	s.jobs.mu.Unlock()
	s.jobs.trim()
}

// registerRow registers one manifest row into the job's tenant. In a
// resumed job, a work registered since the job began (by the job, whose
// log line was lost to the restart) counts as registered rather than as
// a conflict.
func (s *Server) registerRow(ctx context.Context, row manifest.Row, h jobHeader, resumed bool) error {
	ref := row.URL
	if ref == "" {
		ref = row.Path
	}
	work := row.Work
	work.Tenant = h.Tenant
	if resumed && !h.Replace {
		if old, err := s.store.GetIn(work.Tenant, work.ID); err == nil && !old.RegisteredAt.Before(h.CreatedAt.Truncate(time.Millisecond)) {
			return nil
		}
	}
	sp, err := s.openMedia(ctx, ref, 0)
	if err != nil {
		return err
	}
	defer sp.Close()
	mp, err := s.extractReference(ctx, sp)
	if err != nil {
		return err
	}
	work.DurationS = mp.Duration().Seconds()
	_, _, err = s.register(ctx, work, mp, h.Replace)
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
