package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
	"github.com/cueprint/cueprint/server/report"
	"github.com/cueprint/cueprint/server/scan"
)

// Scans: POST /v1/scans records a scan (a CSV or JSON item list) in the
// store and runs it in the background, ScanWorkers items at a time, each
// item's decode and match in a worker slot shared with interactive
// requests. A scan belongs to the caller's tenant; admins see every
// tenant's. The daemon resumes, at start, every scan a stop cut short.

// maxScanListBytes caps a scan's item list (some two million CSV rows).
const maxScanListBytes = 256 << 20

// newScans opens the store's scans for s.
func newScans(s *Server, reg prometheus.Registerer) (*scan.Manager, error) {
	items := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cueprint_scan_items_total", Help: "Scan items processed, by outcome (ok, error).",
	}, []string{"outcome"})
	mediaS := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cueprint_scan_media_seconds_total", Help: "Media processed by scans, in seconds.",
	})
	usages := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cueprint_scan_usages_total", Help: "Usage lines found by scans.",
	})
	m, err := scan.Open(scan.Config{
		Dir: s.store.Dir(), Match: s.scanMatch, Classify: ErrorCode,
		Workers: s.conf().ScanWorkers, Log: s.log,
		Observe: func(outcome string, sec float64, n int) {
			items.WithLabelValues(outcome).Inc()
			mediaS.Add(sec)
			usages.Add(float64(n))
		},
	})
	if err != nil {
		return nil, err
	}
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cueprint_scan_items_pending", Help: "Items of running scans not processed yet.",
	}, func() float64 {
		_, n := m.Running()
		return float64(n)
	})
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cueprint_scans_running", Help: "Scans running.",
	}, func() float64 {
		n, _ := m.Running()
		return float64(n)
	})
	for _, c := range []prometheus.Collector{items, mediaS, usages, pending, running} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// scanMatch matches one scan item's whole timeline.
func (s *Server) scanMatch(ctx context.Context, it api.ScanItem) (float64, []match.Segment, error) {
	sp, err := s.openMedia(ctx, it.Media, 0)
	if err != nil {
		return 0, nil, err
	}
	defer sp.Close()
	mp, segs, err := s.matcher.Query(ctx, sp.r, sp.name, s.queryOptions())
	if mp == nil {
		return 0, nil, err
	}
	return mp.Duration().Seconds(), segs, err
}

// scanErr turns the scan package's errors into API errors.
func scanErr(err error) error {
	switch {
	case errors.Is(err, scan.ErrNotFound):
		return apiErr(http.StatusNotFound, codeNotFound, "%v", err)
	case errors.Is(err, scan.ErrConflict):
		return apiErr(http.StatusConflict, codeConflict, "%v", err)
	case errors.Is(err, scan.ErrInvalid), errors.Is(err, scan.ErrInvalidList):
		return apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	return err
}

// ownScan returns scan id if c may see it (another tenant's is not
// found).
func (s *Server) ownScan(id string, c *call) (api.Scan, error) {
	sc, err := s.scans.Get(id)
	if err != nil || !c.admin() && sc.Tenant != c.key.Tenant {
		return api.Scan{}, apiErr(http.StatusNotFound, codeNotFound, "scan %q not found", id)
	}
	return sc, nil
}

// postScan records a scan and starts it: 201 with the scan, or 200 with
// the scan the same request created before.
func (s *Server) postScan(w http.ResponseWriter, r *http.Request, c *call) error {
	release, err := s.receive(c)
	if err != nil {
		return err
	}
	s.limitBody(w, r, maxScanListBytes)
	raw, err := io.ReadAll(r.Body)
	release()
	if err != nil {
		return uploadErr(err)
	}
	// Owners and shares go to admins, matchers and the work's own tenant,
	// as in match answers.
	req := scan.Request{Tenant: c.key.Tenant, Settings: scan.DefaultSettings(), AllOwners: c.admin() || c.key.Role == auth.Matcher}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body api.ScanRequest
		if err := decodeJSONBody(bytes.NewReader(raw), &body); err != nil {
			return apiErr(http.StatusBadRequest, codeBadRequest, "scan request: %v", err)
		}
		req.Name, req.Kind, req.Items = body.Name, body.Kind, body.Items
		if body.Settings != nil {
			req.Settings = *body.Settings
		}
	case "text/csv", "":
		q := r.URL.Query()
		req.Name, req.Kind = q.Get("name"), q.Get("kind")
		for name, p := range map[string]*float64{"min_duration_s": &req.Settings.MinDurationS, "min_confidence": &req.Settings.MinConfidence, "merge_gap_s": &req.Settings.MergeGapS} {
			if v := q.Get(name); v != "" {
				if *p, err = strconv.ParseFloat(v, 64); err != nil {
					return apiErr(http.StatusBadRequest, codeBadRequest, "%s=%q: want a number", name, v)
				}
			}
		}
		if req.Items, req.Columns, err = scan.ParseCSV(bytes.NewReader(raw)); err != nil {
			return scanErr(err)
		}
	default:
		return apiErr(http.StatusUnsupportedMediaType, codeUnsupportedType, "Content-Type %q: want text/csv or application/json", ct)
	}
	sc, created, err := s.scans.Create(req)
	if err != nil {
		return scanErr(err)
	}
	if created {
		if err := s.scans.Start(sc.ID); err != nil {
			return scanErr(err)
		}
		c.log.Info("scan started", "scan_id", sc.ID, "items", sc.Total)
		sc, _ = s.scans.Get(sc.ID)
	}
	w.Header().Set("Location", "/v1/scans/"+sc.ID)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, sc)
	return nil
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, api.ScanList{Scans: s.scans.List(c.key.Tenant, c.admin())})
	return nil
}

func (s *Server) getScan(w http.ResponseWriter, r *http.Request, c *call) error {
	sc, err := s.ownScan(r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

func (s *Server) cancelScan(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.ownScan(r.PathValue("id"), c); err != nil {
		return err
	}
	sc, err := s.scans.Cancel(r.PathValue("id"))
	if err != nil {
		return scanErr(err)
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

func (s *Server) resumeScan(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.ownScan(r.PathValue("id"), c); err != nil {
		return err
	}
	if err := s.scans.Start(r.PathValue("id")); err != nil {
		return scanErr(err)
	}
	sc, err := s.scans.Get(r.PathValue("id"))
	if err != nil {
		return scanErr(err)
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

// deleteScan cancels a scan if it runs, then removes it and its usage
// lines.
func (s *Server) deleteScan(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	sc, err := s.ownScan(id, c)
	if err != nil {
		return err
	}
	if sc.State == scan.StateRunning {
		if _, err := s.scans.Cancel(id); err != nil {
			return scanErr(err)
		}
	}
	if err := s.scans.Delete(id); err != nil {
		return scanErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// usageFilter reads the usage filters of a request: scan, work, owner,
// item, status, from, to.
func usageFilter(r *http.Request, c *call) scan.Filter {
	q := r.URL.Query()
	return scan.Filter{ScanID: q.Get("scan"), WorkID: q.Get("work"), Owner: q.Get("owner"), ItemID: q.Get("item"),
		Status: q.Get("status"), From: q.Get("from"), To: q.Get("to"), Tenant: c.key.Tenant, All: c.admin()}
}

// listUsages answers GET /v1/usages: usage lines by filter, a page at a
// time (limit, at most 1000; after, the previous page's next).
func (s *Server) listUsages(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	us, next, err := s.scans.Usages(usageFilter(r, c), r.URL.Query().Get("after"), limit)
	if err != nil {
		return scanErr(err)
	}
	writeJSON(w, http.StatusOK, api.UsageList{Usages: us, Next: next})
	return nil
}

// getReport answers GET /v1/reports/{format}: one scan's report (scan=ID)
// or a period's over every scan the caller sees (from, to), further
// filtered by work, owner, item and status. potential=true counts
// potential lines in totals, audits and DSRs. A DSR needs
// sender_party_id and sender_name, and takes recipient_party_id,
// recipient_name, service, message_id, currency and created (RFC 3339;
// the default is now).
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, c *call) error {
	format := r.PathValue("format")
	f := usageFilter(r, c)
	if err := f.Validate(); err != nil {
		return scanErr(err)
	}
	potential, err := boolParam(r, "potential")
	if err != nil {
		return err
	}
	in := report.Input{Filter: f, Potential: potential}
	if f.ScanID != "" {
		if _, err := s.ownScan(f.ScanID, c); err != nil {
			return err
		}
		res, err := s.scans.Results(f.ScanID)
		if err != nil {
			return scanErr(err)
		}
		in.Scans = []scan.Results{res}
	} else {
		if f.From == "" || f.To == "" {
			return apiErr(http.StatusBadRequest, codeBadRequest, "a report needs scan=ID, or a period: from=YYYY-MM-DD&to=YYYY-MM-DD")
		}
		in.Scans = s.scans.AllResults(f)
	}
	o := report.DefaultDSROptions()
	if format == "dsr.tsv" {
		q := r.URL.Query()
		o.SenderPartyID, o.SenderName = q.Get("sender_party_id"), q.Get("sender_name")
		o.RecipientPartyID, o.RecipientName, o.MessageID = q.Get("recipient_party_id"), q.Get("recipient_name"), q.Get("message_id")
		o.Start, o.End = f.From, f.To
		if v := q.Get("service"); v != "" {
			o.ServiceDescription = v
		}
		if v := q.Get("currency"); v != "" {
			o.Currency = v
		}
		o.Created = time.Now().UTC().Truncate(time.Second)
		if v := q.Get("created"); v != "" {
			if o.Created, err = time.Parse(time.RFC3339, v); err != nil {
				return apiErr(http.StatusBadRequest, codeBadRequest, "created=%q: want RFC 3339 (2026-12-05T10:00:00Z)", v)
			}
		}
	}
	var buf bytes.Buffer
	name, err := report.Write(&buf, format, in, o)
	switch {
	case errors.Is(err, report.ErrFormat):
		return apiErr(http.StatusNotFound, codeNotFound, "%v", err)
	case err != nil && format == "dsr.tsv":
		return apiErr(http.StatusBadRequest, codeBadRequest, "DSR: %v", err)
	case err != nil:
		return err
	}
	contentType := "text/csv; charset=utf-8"
	switch path.Ext(format) {
	case ".json":
		contentType = "application/json"
	case ".tsv":
		contentType = "text/tab-separated-values; charset=utf-8"
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}
