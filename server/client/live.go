package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/server/api"
)

// AddMonitor starts watching a stream.
func (c *Client) AddMonitor(ctx context.Context, req api.MonitorRequest) (*api.Monitor, error) {
	return call[api.Monitor](ctx, c, http.MethodPost, "/v1/monitors", req)
}

// ListMonitors lists the caller's monitors with their states, and how
// many the daemon holds.
func (c *Client) ListMonitors(ctx context.Context) (*api.MonitorList, error) {
	return call[api.MonitorList](ctx, c, http.MethodGet, "/v1/monitors", nil)
}

// Monitor returns a monitor with its state and the plays under way.
func (c *Client) Monitor(ctx context.Context, id string) (*api.Monitor, error) {
	return call[api.Monitor](ctx, c, http.MethodGet, "/v1/monitors/"+url.PathEscape(id), nil)
}

// RemoveMonitor stops watching a stream; its plays under way end.
func (c *Client) RemoveMonitor(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/monitors/"+url.PathEscape(id), nil, nil, "", nil)
}

// AddWebhook asks for events to be sent to a URL. The answer holds the
// secret the deliveries are signed with, shown this once.
func (c *Client) AddWebhook(ctx context.Context, req api.WebhookRequest) (*api.Webhook, error) {
	return call[api.Webhook](ctx, c, http.MethodPost, "/v1/webhooks", req)
}

// ListWebhooks lists the caller's webhooks with their deliveries.
func (c *Client) ListWebhooks(ctx context.Context) ([]api.Webhook, error) {
	out, err := call[api.WebhookList](ctx, c, http.MethodGet, "/v1/webhooks", nil)
	if err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// Webhook returns a webhook with its deliveries.
func (c *Client) Webhook(ctx context.Context, id string) (*api.Webhook, error) {
	return call[api.Webhook](ctx, c, http.MethodGet, "/v1/webhooks/"+url.PathEscape(id), nil)
}

// RemoveWebhook stops a webhook's deliveries and deletes it.
func (c *Client) RemoveWebhook(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(id), nil, nil, "", nil)
}

// EventQuery selects events (GET /v1/events): of these types and
// monitors (all when empty), after event id After (0 with FromStart
// false: the next one).
type EventQuery struct {
	Types, Monitors []string
	After           uint64
	FromStart       bool
}

// Events reads the daemon's event stream, calling fn with each event as
// it comes, until ctx ends (nil), the daemon ends the stream (io.EOF), or
// fn returns an error (returned). Resume after the last event fn saw by
// setting After to its id.
func (c *Client) Events(ctx context.Context, q EventQuery, fn func(api.Event) error) error {
	v := url.Values{}
	if len(q.Types) > 0 {
		v.Set("type", strings.Join(q.Types, ","))
	}
	if len(q.Monitors) > 0 {
		v.Set("monitor", strings.Join(q.Monitors, ","))
	}
	if q.After > 0 || q.FromStart {
		v.Set("after", strconv.FormatUint(q.After, 10))
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/events", v, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e api.Event
			if err := json.Unmarshal(data.Bytes(), &e); err != nil {
				return fmt.Errorf("client: event stream: %w", err)
			}
			data.Reset()
			if err := fn(e); err != nil {
				return err
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("client: event stream: %w", err)
	}
	return io.EOF
}

// call sends a request with req as its JSON body (nil: none) and decodes
// the JSON answer into a T.
func call[T any](ctx context.Context, c *Client, method, path string, req any) (*T, error) {
	var body io.Reader
	ct := ""
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	var out T
	if err := c.do(ctx, method, path, nil, body, ct, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
