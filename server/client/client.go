// Package client is a Go client of cueprint's HTTP API (package server).
// The command line uses it for `cueprint match --server URL`.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/cueprint/cueprint/server/api"
)

// Client talks to one cueprint server with one API key. It is safe for
// concurrent use.
//
// A request the server turned away before doing any work (429
// overloaded, 503 shutting down or read-only) is sent again after the
// server's Retry-After, plus up to half of it again at random so that
// clients refused together do not return together, up to MaxRetries
// times. Only requests whose body can be read again are retried: no body,
// or one that is an io.ReadSeeker (a file, bytes.Reader). A request that
// failed in transit is never sent twice: the server may have acted on it.
type Client struct {
	base *url.URL
	key  string
	hc   *http.Client
	rc   *retryablehttp.Client
}

// MaxRetries is how many times a turned-away request is sent again.
const MaxRetries = 6

// New returns a client of the server at baseURL ("http://host:port").
// hc nil means http.DefaultClient.
func New(baseURL, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q: want http(s)://host[:port]", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	rc := &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: 500 * time.Millisecond,
		RetryWaitMax: 30 * time.Second,
		RetryMax:     MaxRetries,
		CheckRetry:   turnedAway,
		Backoff:      jitteredBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler, // the last answer is decoded as an *Error
	}
	return &Client{base: u, key: key, hc: hc, rc: rc}, nil
}

// turnedAway is the retry policy: the server answered 429 or 503, and the
// caller has not given up.
func turnedAway(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil || resp == nil {
		return false, err
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable, nil
}

// jitteredBackoff waits the server's Retry-After (or doubles from min up
// to max without one) and adds up to half of that at random.
func jitteredBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	d := retryablehttp.DefaultBackoff(min, max, attempt, resp)
	return d + rand.N(d/2+1)
}

// Error is an error answer of the server.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the server's Retry-After, for 429 and 503.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("server: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsStatus reports whether err is a server answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends a request and decodes a JSON answer into out (nil: discard).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string, out any) error {
	resp, err := c.send(ctx, method, path, q, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a 2xx response (or an *Error).
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	var (
		req  *http.Request
		rreq *retryablehttp.Request // nil: the body cannot be sent twice
		err  error
	)
	if _, replayable := body.(io.ReadSeeker); body == nil || replayable {
		var raw any // a nil io.Reader in an interface is not nil
		if body != nil {
			raw = body
		}
		if rreq, err = retryablehttp.NewRequestWithContext(ctx, method, c.url(path, q), raw); err == nil {
			req = rreq.Request
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	var resp *http.Response
	if rreq != nil {
		resp, err = c.rc.Do(rreq)
	} else {
		resp, err = c.hc.Do(req)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: resp.Status}
	var er api.ErrorResponse
	if b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err == nil && json.Unmarshal(b, &er) == nil && er.Error.Code != "" {
		e.Code, e.Message = er.Error.Code, er.Error.Message
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return nil, e
}

// Match uploads media (the whole of r) and returns the works it contains.
func (c *Client) Match(ctx context.Context, r io.Reader) (*api.MatchResponse, error) {
	var out api.MatchResponse
	if err := c.do(ctx, http.MethodPost, "/v1/match", nil, r, "application/octet-stream", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MatchURL asks the server to fetch and match media: a file under its
// media root, an http(s) URL, or an HLS playlist; req.DurationS bounds
// what is read of a live stream.
func (c *Client) MatchURL(ctx context.Context, req api.MatchURLRequest) (*api.MatchResponse, error) {
	b, _ := json.Marshal(req)
	var out api.MatchResponse
	if err := c.do(ctx, http.MethodPost, "/v1/match/url", nil, bytes.NewReader(b), "application/json", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MatchStream sends r as it is read (chunked) and calls fn with each
// segment as soon as the server confirms it. It returns the final "end"
// event, or the server's error.
func (c *Client) MatchStream(ctx context.Context, r io.Reader, fn func(api.Segment) error) (*api.StreamEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A reader that is not a known-length type makes the request chunked.
	resp, err := c.send(ctx, http.MethodPost, "/v1/match/stream", nil, io.NopCloser(r), "application/octet-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev api.StreamEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("client: match stream: bad event %q: %w", sc.Text(), err)
		}
		switch ev.Type {
		case "segment":
			if ev.Segment != nil {
				if err := fn(*ev.Segment); err != nil {
					return nil, err
				}
			}
		case "end":
			return &ev, nil
		case "error":
			e := &Error{Status: http.StatusOK, Code: "stream_error", Message: "stream failed"}
			if ev.Error != nil {
				e.Code, e.Message = ev.Error.Code, ev.Error.Message
			}
			return nil, e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("client: match stream: %w", err)
	}
	return nil, errors.New("client: match stream: answer ended without an end event")
}

// Register uploads media with its metadata. With replace, a work already
// registered under the same ID (and tenant) is replaced. The media is
// streamed, not buffered.
func (c *Client) Register(ctx context.Context, meta api.WorkMetadata, media io.Reader, filename string, replace bool) (*api.Work, error) {
	q := url.Values{}
	if replace {
		q.Set("replace", "true")
	}
	return c.upload(ctx, http.MethodPost, "/v1/works", q, meta, media, filename)
}

// ReplaceWork registers media under the work ID id, replacing the work
// registered under it if there is one (PUT /v1/works/{id}).
func (c *Client) ReplaceWork(ctx context.Context, id string, meta api.WorkMetadata, media io.Reader, filename string) (*api.Work, error) {
	return c.upload(ctx, http.MethodPut, "/v1/works/"+url.PathEscape(id), nil, meta, media, filename)
}

// upload sends a work's metadata and media as a streamed multipart body.
func (c *Client) upload(ctx context.Context, method, path string, q url.Values, meta api.WorkMetadata, media io.Reader, filename string) (*api.Work, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			mb, err := json.Marshal(meta)
			if err != nil {
				return err
			}
			if err := mw.WriteField("metadata", string(mb)); err != nil {
				return err
			}
			fw, err := mw.CreateFormFile("media", filename)
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, media); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	var out api.Work
	err := c.do(ctx, method, path, q, pr, mw.FormDataContentType(), &out)
	pr.CloseWithError(errors.New("request done"))
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Work returns a registered work.
func (c *Client) Work(ctx context.Context, id string) (*api.Work, error) {
	var out api.Work
	if err := c.do(ctx, http.MethodGet, "/v1/works/"+url.PathEscape(id), nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteWork deletes a registered work.
func (c *Client) DeleteWork(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/works/"+url.PathEscape(id), nil, nil, "", nil)
}

// ListOptions filter and page GET /v1/works.
type ListOptions struct {
	After, Tenant, ISRC, ISWC, Title string
	Limit                            int
}

// Works lists registered works, one page.
func (c *Client) Works(ctx context.Context, o ListOptions) (*api.WorkList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"after": o.After, "tenant": o.Tenant, "isrc": o.ISRC, "iswc": o.ISWC, "title": o.Title} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out api.WorkList
	if err := c.do(ctx, http.MethodGet, "/v1/works", q, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Bulk starts a bulk registration from a CSV manifest.
func (c *Client) Bulk(ctx context.Context, manifest io.Reader, replace bool) (*api.Job, error) {
	q := url.Values{}
	if replace {
		q.Set("replace", "true")
	}
	var out api.Job
	if err := c.do(ctx, http.MethodPost, "/v1/works/bulk", q, manifest, "text/csv", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Job returns a job's state.
func (c *Client) Job(ctx context.Context, id string) (*api.Job, error) {
	var out api.Job
	if err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelJob cancels a bulk registration; rows already registered stay
// (DELETE /v1/jobs/{id}).
func (c *Client) CancelJob(ctx context.Context, id string) (*api.Job, error) {
	var out api.Job
	if err := c.do(ctx, http.MethodDelete, "/v1/jobs/"+url.PathEscape(id), nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateKey creates an API key (admin).
func (c *Client) CreateKey(ctx context.Context, req api.KeyRequest) (*api.NewKey, error) {
	b, _ := json.Marshal(req)
	var out api.NewKey
	if err := c.do(ctx, http.MethodPost, "/v1/keys", nil, bytes.NewReader(b), "application/json", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Keys lists API keys (admin).
func (c *Client) Keys(ctx context.Context) ([]api.Key, error) {
	var out api.KeyList
	if err := c.do(ctx, http.MethodGet, "/v1/keys", nil, nil, "", &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeKey revokes an API key (admin).
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(id), nil, nil, "", nil)
}

// OpenAPI returns the server's API document (GET /v1/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/v1/openapi.json")
}

// Metrics returns the server's metrics in Prometheus' text format
// (GET /metrics; a monitor or admin key).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/metrics")
}

// raw GETs path and returns the answer's body.
func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: %w", path, err)
	}
	return b, nil
}

// Health asks whether the server is alive (GET /healthz).
func (c *Client) Health(ctx context.Context) (*api.Health, error) {
	var out api.Health
	if err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ready asks the server whether it is ready for work, and how its storage
// stands (GET /readyz).
func (c *Client) Ready(ctx context.Context) (*api.Health, error) {
	var out api.Health
	if err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
