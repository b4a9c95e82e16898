package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
)

// maxMetadataBytes bounds the metadata part of a registration.
const maxMetadataBytes = 1 << 20

func (s *Server) getHealth(w http.ResponseWriter, _ *http.Request, _ *call) error {
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
	return nil
}

func (s *Server) getReady(w http.ResponseWriter, _ *http.Request, _ *call) error {
	st := s.store.Stats()
	storage := &api.Storage{Writable: st.Writable && !st.LowDisk, FreeBytes: st.DiskFreeBytes, ReserveBytes: st.DiskReserveBytes}
	switch {
	case st.LowDisk:
		storage.Reason = "insufficient_storage"
	case !st.Writable:
		storage.Reason = "read_only"
	}
	switch {
	case st.Closed || s.root.Err() != nil:
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "closed"})
	case s.limit.overloaded():
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "overloaded", Works: st.Works, Storage: storage})
	default:
		// Ready even when writes are refused: matching goes on.
		writeJSON(w, http.StatusOK, api.Health{Status: "ok", Works: st.Works, Storage: storage})
	}
	return nil
}

// workJSON is the API form of a stored work.
func workJSON(w index.Work) api.Work {
	out := api.Work{
		WorkMetadata: api.WorkMetadata{ID: w.ID, Title: w.Title, ISRC: w.ISRC, ISWC: w.ISWC, ISAN: w.ISAN, EIDR: w.EIDR, Tenant: w.Tenant},
		DurationS:    api.Millis(w.DurationS), RegisteredAt: w.RegisteredAt, Peaks: w.Peaks, Hashes: w.Hashes,
		VideoFrames: w.VideoFrames,
	}
	for _, o := range w.Owners {
		out.Owners = append(out.Owners, api.Owner{Name: o.Name, Role: o.Role, Share: o.Share})
	}
	return out
}

func (s *Server) postWork(w http.ResponseWriter, r *http.Request, c *call) error {
	replace, err := boolParam(r, "replace")
	if err != nil {
		return err
	}
	return s.registerUpload(w, r, c, "", replace)
}

func (s *Server) putWork(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.registerUpload(w, r, c, r.PathValue("id"), true)
}

// registerUpload registers a work from a multipart upload: a "metadata"
// part (JSON, api.WorkMetadata) and a "media" part, in either order.
func (s *Server) registerUpload(w http.ResponseWriter, r *http.Request, c *call, pathID string, replace bool) (err error) {
	defer func() {
		if err != nil {
			s.metrics.registrations.WithLabelValues("error").Inc()
		}
	}()
	if err := s.store.CheckWritable(); err != nil {
		return err // before reading a byte of the upload
	}
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	s.limitBody(w, r, s.conf().MaxUploadBytes)
	meta, sp, err := s.readRegistration(r, pathID)
	release()
	if err != nil {
		return err
	}
	defer sp.Close()
	ctx, done, err := s.admit(r)
	if err != nil {
		return err
	}
	defer done()
	if meta.Tenant == "" && r.URL.Query().Get("tenant") != "" {
		// PUT /v1/works/{id}?tenant=: the tenant as GET and DELETE name it.
		if meta.Tenant, err = tenantOf(r, c); err != nil {
			return err
		}
	}
	work, err := s.workFromMeta(*meta, c)
	if err != nil {
		return err
	}

	mp, err := s.extractReference(ctx, sp)
	if err != nil {
		return err
	}
	work.DurationS = mp.Duration().Seconds()
	stored, existed, err := s.register(ctx, work, mp, replace)
	if err != nil {
		return err
	}
	status, result := http.StatusCreated, "created"
	if existed {
		status, result = http.StatusOK, "replaced"
	}
	c.log.Info("work registered", "item_id", stored.ID, "result", result, "media_duration", mp.Duration())
	loc := "/v1/works/" + url.PathEscape(stored.ID)
	if stored.Tenant != c.key.Tenant {
		loc += "?tenant=" + url.QueryEscape(stored.Tenant)
	}
	w.Header().Set("Location", loc)
	writeJSON(w, status, workJSON(stored))
	return nil
}

// readRegistration reads a registration's multipart body: a "metadata"
// part (JSON, api.WorkMetadata, strictly decoded) and a "media" part,
// spooled. pathID is the ID in the URL (PUT), "" for POST.
func (s *Server) readRegistration(r *http.Request, pathID string) (meta *api.WorkMetadata, sp *spooled, err error) {
	defer func() {
		if err != nil && sp != nil {
			sp.Close()
			sp = nil
		}
	}()
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, apiErr(http.StatusUnsupportedMediaType, codeUnsupportedType, "want multipart/form-data with a metadata part and a media part: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, sp, uploadErr(err)
		}
		switch part.FormName() {
		case "metadata":
			if meta != nil {
				return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "two metadata parts")
			}
			meta = new(api.WorkMetadata)
			if err := decodeJSONBody(io.LimitReader(part, maxMetadataBytes), meta); err != nil {
				return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "metadata part: %v", err)
			}
		case "media":
			if sp != nil {
				return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "two media parts")
			}
			name := part.FileName()
			if name == "" {
				name = "media"
			}
			if sp, err = spool(part, name, s.conf().MaxUploadBytes, &s.spoolMem); err != nil {
				return nil, nil, uploadErr(err)
			}
		default:
			return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "unknown part %q (want metadata and media)", part.FormName())
		}
		part.Close()
	}
	switch {
	case meta == nil:
		return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "no metadata part")
	case sp == nil:
		return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "no media part")
	case pathID != "" && meta.ID != "" && meta.ID != pathID:
		return nil, sp, apiErr(http.StatusBadRequest, codeBadRequest, "metadata id %q differs from the URL's %q", meta.ID, pathID)
	case pathID != "":
		meta.ID = pathID
	}
	if meta.ID == "" || strings.TrimSpace(meta.Title) == "" {
		return nil, sp, apiErr(http.StatusBadRequest, codeInvalidWork, "metadata needs an id and a title")
	}
	return meta, sp, nil
}

// register stores a work in its tenant (work.Tenant). existed says
// whether one of the same ID was replaced. It counts successes; callers
// count failures, wherever they happen.
func (s *Server) register(ctx context.Context, work index.Work, mp *fingerprint.MediaPrint, replace bool) (stored index.Work, existed bool, err error) {
	var pr index.Prints
	if mp.Audio != nil {
		pr.Audio = mp.Audio.Peaks
	}
	if mp.Video != nil {
		pr.Video = mp.Video.Frames
	}
	stored, err = s.store.RegisterPrints(ctx, work, pr, replace, func(index.Work) error {
		existed = true
		return nil
	})
	switch {
	case err != nil:
	case existed:
		s.metrics.registrations.WithLabelValues("replaced").Inc()
	default:
		s.metrics.registrations.WithLabelValues("created").Inc()
	}
	return stored, existed, err
}

// workFromMeta builds a work record, placing it in the caller's tenant.
func (s *Server) workFromMeta(m api.WorkMetadata, c *call) (index.Work, error) {
	tenant := c.key.Tenant
	if m.Tenant != "" && m.Tenant != tenant {
		if !c.admin() {
			return index.Work{}, apiErr(http.StatusForbidden, codeForbidden, "a %s key registers into its own tenant %q", c.key.Role, c.key.Tenant)
		}
		if !auth.ValidTenant(m.Tenant) {
			return index.Work{}, apiErr(http.StatusBadRequest, codeInvalidWork, "tenant %q is not a valid name", m.Tenant)
		}
		tenant = m.Tenant
	}
	w := index.Work{ID: m.ID, Title: m.Title, ISRC: m.ISRC, ISWC: m.ISWC, ISAN: m.ISAN, EIDR: m.EIDR, Tenant: tenant}
	for _, o := range m.Owners {
		w.Owners = append(w.Owners, index.Owner{Name: o.Name, Role: o.Role, Share: o.Share})
	}
	w.Normalize()
	if err := w.Validate(); err != nil {
		return index.Work{}, err
	}
	return w, nil
}

// extractReference fingerprints spooled media to register, sound and
// picture, in a worker slot. A truncated file is refused: a reference
// must be whole. (Queries go through the matcher's pipeline, Query.)
func (s *Server) extractReference(ctx context.Context, sp *spooled) (*fingerprint.MediaPrint, error) {
	o := fingerprint.MediaOptions{
		Audio: fingerprint.ExtractOptions{MaxDuration: s.conf().MaxMediaDuration},
		Video: fingerprint.VideoOptions{MaxDuration: s.conf().MaxMediaDuration},
	}
	var mp *fingerprint.MediaPrint
	err := s.limit.do(ctx, func() error {
		start := time.Now()
		var err error
		mp, err = fingerprint.ExtractMediaReader(ctx, sp.r, sp.name, s.store.Params(), s.store.VideoParams(), o)
		s.metrics.extractSeconds.Add(time.Since(start).Seconds())
		if mp != nil {
			s.metrics.audioSeconds.Add(mp.Duration().Seconds())
		}
		return err
	})
	if err != nil {
		if reason, _, ok := decodeReason(err); ok {
			s.metrics.decodeErrors.WithLabelValues(reason).Inc()
		}
		return nil, err
	}
	if mp.Truncated {
		s.metrics.decodeErrors.WithLabelValues("truncated").Inc()
		return nil, fmt.Errorf("decode %q: %w: %v decoded of %v declared", sp.name, errTruncated,
			mp.Duration().Round(time.Millisecond), mp.DeclaredDuration.Round(time.Millisecond))
	}
	return mp, nil
}

// tenantOf returns the tenant whose works a request acts on: the caller's
// own, or for an admin the one named by ?tenant= (default its own).
// Tenants have separate namespaces of work IDs (index FORMAT.md#work).
func tenantOf(r *http.Request, c *call) (string, error) {
	t := r.URL.Query().Get("tenant")
	switch {
	case t == "" || t == c.key.Tenant:
		return c.key.Tenant, nil
	case !c.admin():
		return "", apiErr(http.StatusForbidden, codeForbidden, "a %s key acts on its own tenant only", c.key.Role)
	case !auth.ValidTenant(t):
		return "", apiErr(http.StatusBadRequest, codeBadRequest, "tenant %q is not a valid name", t)
	}
	return t, nil
}

func (s *Server) getWork(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	tenant, err := tenantOf(r, c)
	if err != nil {
		return err
	}
	work, err := s.store.GetIn(tenant, id)
	if errors.Is(err, index.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, workJSON(work))
	return nil
}

// notFound is the answer for a work that is absent from the caller's
// tenant: the same whether or not another tenant has a work of that ID.
func notFound(id string) *Error {
	return apiErr(http.StatusNotFound, codeWorkNotFound, "work %q not found", id)
}

func (s *Server) deleteWork(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	tenant, err := tenantOf(r, c)
	if err != nil {
		return err
	}
	err = s.store.DeleteChecked(r.Context(), tenant, id, nil)
	if errors.Is(err, index.ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	c.log.Info("work deleted", "item_id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Paging of GET /v1/works.
const (
	defaultPage = 100
	maxPage     = 1000
	// maxScan bounds the records one filtered page reads, so a filter that
	// matches nothing cannot scan millions of works in one request; the
	// answer's next lets the caller continue.
	maxScan = 100_000
)

func (s *Server) listWorks(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		return err
	}
	// A registrar lists its own tenant; an admin one tenant (?tenant=) or
	// all of them, when next is a cursor (tenant/id) rather than an ID.
	all := c.admin() && q.Get("tenant") == ""
	tenant, err := tenantOf(r, c)
	if err != nil {
		return err
	}
	filter := index.Work{ISRC: q.Get("isrc"), ISWC: q.Get("iswc"), ISAN: q.Get("isan"), EIDR: q.Get("eidr")}
	filter.Normalize()
	title := strings.ToLower(q.Get("title"))
	out := api.WorkList{Works: []api.Work{}}
	scanned := 0
	visit := func(wk index.Work) bool {
		if r.Context().Err() != nil {
			return false
		}
		scanned++
		if (filter.ISRC == "" || wk.ISRC == filter.ISRC) && (filter.ISWC == "" || wk.ISWC == filter.ISWC) &&
			(filter.ISAN == "" || wk.ISAN == filter.ISAN) && (filter.EIDR == "" || wk.EIDR == filter.EIDR) &&
			(title == "" || strings.Contains(strings.ToLower(wk.Title), title)) {
			out.Works = append(out.Works, workJSON(wk))
		}
		if len(out.Works) == limit || scanned == maxScan {
			out.Next = wk.ID
			if all {
				out.Next = index.Cursor(wk)
			}
			return false
		}
		return true
	}
	if all {
		err = s.store.List(q.Get("after"), visit)
	} else {
		err = s.store.ListTenant(tenant, q.Get("after"), visit)
	}
	if err != nil {
		return err
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apiErr(http.StatusBadRequest, codeBadRequest, "%s=%q: want true or false", name, v)
	}
	return b, nil
}

// intParam reads an integer query parameter between lo and hi; def when
// absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, apiErr(http.StatusBadRequest, codeBadRequest, "%s %q: want %d to %d", name, v, lo, hi)
	}
	return n, nil
}
