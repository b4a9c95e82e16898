package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cueprint/cueprint/server/api"
)

// ScanCSV starts a scan of a CSV item list (a header row naming item_id
// and media, then one item per row). name and kind ("catalogue",
// "dataset") may be empty. The same list and name again return the same
// scan.
func (c *Client) ScanCSV(ctx context.Context, items io.Reader, name, kind string) (*api.Scan, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if kind != "" {
		q.Set("kind", kind)
	}
	var out api.Scan
	if err := c.do(ctx, http.MethodPost, "/v1/scans", q, items, "text/csv", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Scan starts a scan of a JSON item list.
func (c *Client) Scan(ctx context.Context, req api.ScanRequest) (*api.Scan, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out api.Scan
	if err := c.do(ctx, http.MethodPost, "/v1/scans", nil, bytes.NewReader(b), "application/json", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Scans lists the caller's scans.
func (c *Client) Scans(ctx context.Context) ([]api.Scan, error) {
	var out api.ScanList
	if err := c.do(ctx, http.MethodGet, "/v1/scans", nil, nil, "", &out); err != nil {
		return nil, err
	}
	return out.Scans, nil
}

// ScanState returns a scan's state and progress.
func (c *Client) ScanState(ctx context.Context, id string) (*api.Scan, error) {
	return c.scanCall(ctx, http.MethodGet, "/v1/scans/"+url.PathEscape(id))
}

// CancelScan stops a running scan (ResumeScan goes on from there).
func (c *Client) CancelScan(ctx context.Context, id string) (*api.Scan, error) {
	return c.scanCall(ctx, http.MethodPost, "/v1/scans/"+url.PathEscape(id)+"/cancel")
}

// ResumeScan runs a cancelled or failed scan on.
func (c *Client) ResumeScan(ctx context.Context, id string) (*api.Scan, error) {
	return c.scanCall(ctx, http.MethodPost, "/v1/scans/"+url.PathEscape(id)+"/resume")
}

func (c *Client) scanCall(ctx context.Context, method, path string) (*api.Scan, error) {
	var out api.Scan
	if err := c.do(ctx, method, path, nil, nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteScan deletes a scan and its usage lines (cancelling it first).
func (c *Client) DeleteScan(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/scans/"+url.PathEscape(id), nil, nil, "", nil)
}

// UsageQuery filters and pages usage lines (GET /v1/usages) and reports
// (GET /v1/reports/{format}).
type UsageQuery struct {
	Scan, Work, Owner, Item, Status string
	// From and To select a usage period (YYYY-MM-DD).
	From, To string
	// After and Limit page GET /v1/usages.
	After string
	Limit int
}

func (q UsageQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"scan": q.Scan, "work": q.Work, "owner": q.Owner, "item": q.Item, "status": q.Status,
		"from": q.From, "to": q.To, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Usages returns one page of usage lines.
func (c *Client) Usages(ctx context.Context, q UsageQuery) (*api.UsageList, error) {
	var out api.UsageList
	if err := c.do(ctx, http.MethodGet, "/v1/usages", q.values(), nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Report fetches a report (format: usages.csv, works.json, dsr.tsv, ...;
// extra holds a DSR's options: sender_party_id, sender_name, created,
// ...). It returns the report and the file name the server gives it
// (a DSR's conventional name; "" otherwise).
func (c *Client) Report(ctx context.Context, format string, q UsageQuery, extra url.Values) ([]byte, string, error) {
	v := q.values()
	for k, vs := range extra {
		v[k] = vs
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/reports/"+url.PathEscape(format), v, nil, "")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	name := ""
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		name = p["filename"]
	}
	return b, name, nil
}
