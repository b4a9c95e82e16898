package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cueprint/cueprint/server/auth"
)

// route is one entry of the API: method, path pattern (net/http's), the
// roles allowed (nil: open to all, no key needed) and the handler.
type route struct {
	method, path string
	roles        []auth.Role
	h            func(w http.ResponseWriter, r *http.Request, c *call) error
}

// call is what a handler knows of its caller.
type call struct {
	key auth.Key // zero on open routes
	log *slog.Logger
}

// admin reports whether the caller may act on every tenant.
func (c *call) admin() bool { return c.key.Role == auth.Admin }

// owns reports whether the caller may see and change a work of tenant t.
func (c *call) owns(t string) bool {
	return c.admin() || (c.key.Role == auth.Registrar && c.key.Tenant == t)
}

var (
	anyUser    = []auth.Role{auth.Admin, auth.Registrar, auth.Matcher}
	registrars = []auth.Role{auth.Admin, auth.Registrar}
	admins     = []auth.Role{auth.Admin}
	monitors   = []auth.Role{auth.Admin, auth.Monitor}
)

// routeTable is the API. The OpenAPI document must describe exactly these
// routes (TestOpenAPIMatchesRoutes).
func (s *Server) routeTable(metricsHandler http.Handler) []route {
	return []route{
		{"GET", "/healthz", nil, s.getHealth},
		{"GET", "/readyz", nil, s.getReady},
		{"GET", "/metrics", monitors, func(w http.ResponseWriter, r *http.Request, _ *call) error {
			metricsHandler.ServeHTTP(w, r)
			return nil
		}},
		{"GET", "/v1/openapi.json", nil, s.getOpenAPI},
		{"POST", "/v1/works", registrars, s.postWork},
		{"GET", "/v1/works", registrars, s.listWorks},
		{"POST", "/v1/works/bulk", registrars, s.postBulk},
		{"GET", "/v1/works/{id}", registrars, s.getWork},
		{"PUT", "/v1/works/{id}", registrars, s.putWork},
		{"DELETE", "/v1/works/{id}", registrars, s.deleteWork},
		{"GET", "/v1/jobs/{id}", registrars, s.getJob},
		{"DELETE", "/v1/jobs/{id}", registrars, s.cancelJob},
		{"POST", "/v1/match", anyUser, s.postMatch},
		{"POST", "/v1/match/stream", anyUser, s.postMatchStream},
		{"POST", "/v1/match/url", anyUser, s.postMatchURL},
		{"POST", "/v1/scans", anyUser, s.postScan},
		{"GET", "/v1/scans", anyUser, s.listScans},
		{"GET", "/v1/scans/{id}", anyUser, s.getScan},
		{"DELETE", "/v1/scans/{id}", anyUser, s.deleteScan},
		{"POST", "/v1/scans/{id}/cancel", anyUser, s.cancelScan},
		{"POST", "/v1/scans/{id}/resume", anyUser, s.resumeScan},
		{"GET", "/v1/usages", anyUser, s.listUsages},
		{"GET", "/v1/reports/{format}", anyUser, s.getReport},
		{"POST", "/v1/monitors", anyUser, s.postMonitor},
		{"GET", "/v1/monitors", anyUser, s.listMonitors},
		{"GET", "/v1/monitors/{id}", anyUser, s.getMonitor},
		{"DELETE", "/v1/monitors/{id}", anyUser, s.deleteMonitor},
		{"GET", "/v1/events", anyUser, s.getEvents},
		{"POST", "/v1/webhooks", anyUser, s.postWebhook},
		{"GET", "/v1/webhooks", anyUser, s.listWebhooks},
		{"GET", "/v1/webhooks/{id}", anyUser, s.getWebhook},
		{"DELETE", "/v1/webhooks/{id}", anyUser, s.deleteWebhook},
		{"POST", "/v1/keys", admins, s.postKey},
		{"GET", "/v1/keys", admins, s.listKeys},
		{"DELETE", "/v1/keys/{id}", admins, s.revokeKey},
	}
}

// routes builds the mux.
func (s *Server) routes(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mh := promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
	methods := map[string][]string{}
	for _, rt := range s.routeTable(mh) {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	// The same paths with another method: 405 with a JSON body.
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		h := s.wrap(route{method: "", path: path, h: func(w http.ResponseWriter, r *http.Request, _ *call) error {
			w.Header().Set("Allow", allow)
			return apiErr(http.StatusMethodNotAllowed, codeMethod, "method %s not allowed on %s (allowed: %s)", r.Method, path, allow)
		}})
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !slices.Contains(ms, m) {
				mux.Handle(m+" "+path, h)
			}
		}
	}
	mux.Handle("/", s.wrap(route{path: "unmatched", h: func(w http.ResponseWriter, r *http.Request, _ *call) error {
		return apiErr(http.StatusNotFound, codeNotFound, "no route for %s %s", r.Method, r.URL.Path)
	}}))
	return mux
}

// wrap adds what every route shares: panic recovery, metrics, access
// control and error answers.
func (s *Server) wrap(rt route) http.Handler {
	label := rt.path // the pattern, never the URL: bounded label values
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		in := &countingBody{ReadCloser: r.Body}
		r.Body = in
		c := &call{log: s.log.With("route", label, "method", r.Method)}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.metrics.panics.Inc()
				c.log.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !sw.wrote {
					writeError(sw, apiErr(http.StatusInternalServerError, codeInternal, "internal error"))
				} else {
					sw.status = http.StatusInternalServerError
				}
			}
			method := r.Method
			if rt.method == "" {
				method = "other" // bounded: any method string may arrive
			}
			el := time.Since(start)
			s.metrics.requests.WithLabelValues(label, method, strconv.Itoa(sw.code())).Inc()
			s.metrics.latency.WithLabelValues(label, method).Observe(el.Seconds())
			s.accessLog(r, rt, label, c, sw, in.n, el)
		}()
		if rt.roles != nil {
			key, err := s.keys.Verify(bearer(r))
			if err != nil {
				s.metrics.authFailures.WithLabelValues("unauthenticated").Inc()
				writeError(sw, apiErr(http.StatusUnauthorized, codeUnauthorized, "missing or invalid API key (Authorization: Bearer <key>)"))
				return
			}
			if !slices.Contains(rt.roles, key.Role) {
				s.metrics.authFailures.WithLabelValues("forbidden").Inc()
				writeError(sw, apiErr(http.StatusForbidden, codeForbidden, "role %s may not %s %s", key.Role, rt.method, rt.path))
				return
			}
			c.key = key
			c.log = c.log.With("key_id", key.ID)
		}
		err := rt.h(sw, r, c)
		if err == nil {
			return
		}
		e := errorOf(err)
		switch {
		case e.Status == http.StatusInsufficientStorage:
			c.log.Warn("write refused", "status", e.Status, "err", err)
		case e.Status >= 500:
			c.log.Error("request failed", "status", e.Status, "err", err)
		case e.Status == 499:
			c.log.Info("request cancelled", "err", err)
		default:
			c.log.Debug("request refused", "status", e.Status, "code", e.Code, "err", err)
		}
		if sw.wrote {
			sw.status = e.Status // for metrics; the answer had started
			return
		}
		writeError(sw, e)
	})
}

// accessLog writes the request's access log line: method, route, status,
// duration, the caller's key ID and the bytes received and sent. Probes
// and scrapes (health, readiness, metrics) are logged at debug level:
// they come every few seconds and say nothing about use.
func (s *Server) accessLog(r *http.Request, rt route, label string, c *call, sw *statusWriter, in int64, el time.Duration) {
	level := slog.LevelInfo
	switch rt.path {
	case "/healthz", "/readyz", "/metrics":
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, "request",
		slog.String("method", r.Method), slog.String("route", label), slog.String("path", r.URL.Path),
		slog.Int("status", sw.code()), slog.Duration("duration", el.Round(time.Microsecond)),
		slog.String("key_id", c.key.ID), slog.Int64("bytes_in", in), slog.Int64("bytes_out", sw.n),
		slog.String("remote", r.RemoteAddr))
}

// countingBody counts the bytes of a request body read by its handler.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// bearer returns the request's bearer token ("" if none).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// statusWriter records the status and the bytes written, for metrics and
// the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush, read
// deadlines, full duplex).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
