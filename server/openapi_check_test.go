package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server/client"
)

// TestOpenAPILint runs Redocly's linter with its recommended rules over
// the document: no error and no warning beyond the findings accepted in
// .redocly.lint-ignore.yaml. make deps installs the linter.
func TestOpenAPILint(t *testing.T) {
	bin, err := filepath.Abs("../.cache/redocly/node_modules/.bin/redocly")
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Redocly's CLI is not installed (make deps): %v", err)
	}
	cmd := exec.Command(bin, "lint", "--extends", "recommended", "--format", "json", "openapi.json")
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // exits 1 on errors; the JSON says which
	var res struct {
		Totals struct {
			Errors, Warnings, Ignored int
		} `json:"totals"`
		Problems []struct {
			RuleID, Severity, Message string
			Location                  []struct{ Pointer string } `json:"location"`
		} `json:"problems"`
	}
	require.NoError(t, json.Unmarshal(out, &res), "redocly lint output: %s\n%s", out, stderr.String())
	for _, p := range res.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s: %s at %s", p.Severity, p.RuleID, p.Message, where)
	}
	assert.Zero(t, res.Totals.Errors)
	assert.Zero(t, res.Totals.Warnings)
	t.Logf("redocly lint: %d errors, %d warnings, %d accepted", res.Totals.Errors, res.Totals.Warnings, res.Totals.Ignored)
}

// TestOperationIDsAreClientMethods: every operation has an id, and the Go
// client has a method of that name (capitalised) calling it.
func TestOperationIDsAreClientMethods(t *testing.T) {
	doc := loadOpenAPI(t)
	ct := reflect.TypeFor[*client.Client]()
	seen := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			require.NotEmpty(t, op.OperationID, "%s has no operationId", where)
			if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("operationId %q on %s and %s", op.OperationID, prev, where)
			}
			seen[op.OperationID] = where
			r := []rune(op.OperationID)
			r[0] = unicode.ToUpper(r[0])
			_, ok := ct.MethodByName(string(r))
			assert.True(t, ok, "%s: operationId %q has no client method %s", where, op.OperationID, string(r))
		}
	}
}

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

// loadOpenAPI returns the document, validated as OpenAPI 3.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	docOnce.Do(func() {
		l := openapi3.NewLoader()
		if doc, docErr = l.LoadFromFile("openapi.json"); docErr == nil {
			docErr = doc.Validate(context.Background())
		}
	})
	require.NoError(t, docErr)
	return doc
}

// checkingTransport checks every JSON answer of the server against the
// document: its status must be documented for the operation, and its
// body must match the schema. Streams, reports and metrics are passed
// through unread: their schemas are not JSON objects to check.
type checkingTransport struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
}

// newCheckingClient returns an HTTP client for route tests that checks
// answers against the OpenAPI document.
func newCheckingClient(t *testing.T) *http.Client {
	t.Helper()
	r, err := legacy.NewRouter(loadOpenAPI(t))
	require.NoError(t, err)
	return &http.Client{Transport: &checkingTransport{t: t, router: r, next: http.DefaultTransport}}
}

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "application/json" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// The router matches on the document's server URL: ask it with the
	// path alone against that server.
	u := *req.URL
	u.Scheme, u.Host = "http", "127.0.0.1:8080"
	rreq := req.Clone(req.Context())
	rreq.URL = &u
	route, params, err := c.router.FindRoute(rreq)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			c.t.Errorf("%s %s answered %d, but the document has no such operation: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rreq, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		c.t.Errorf("%s %s answered %d against the document: %v\nbody: %.500s", req.Method, req.URL.Path, resp.StatusCode,
			strings.ReplaceAll(err.Error(), "\n", " | "), body)
	}
	return resp, nil
}
