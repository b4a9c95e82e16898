// Package report turns scans' usage lines into the files a rights
// organisation distributes from: the usage lines themselves (CSV, JSON),
// their totals per work and per owner, a training-set audit, and a DDEX
// DSR flat file. Every report is a function of its input alone: lines are
// sorted, numbers printed with fixed precision, and the only clock value
// (a DSR's creation time) is the caller's, so the same scan gives the
// same bytes whenever and wherever it ran.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

// Formats lists the report formats, by the name the command line and the
// API take.
var Formats = []string{"usages.csv", "usages.json", "works.csv", "works.json", "owners.csv", "owners.json", "audit.json", "audit.csv", "dsr.tsv"}

// Input is what a report covers: the scans' results, and a filter on
// their usage lines (a period, a work, an owner).
type Input struct {
	Scans  []scan.Results
	Filter scan.Filter
	// Potential includes "potential" lines in the totals, the audit and
	// the DSR (the usage lines list them always, with their status).
	Potential bool
}

// each calls fn with the usage lines the input selects, in scan, item
// and start order; counted says whether to leave out potential ones
// (unless Potential). Lines are read from the scans as they go, so a
// report of millions of lines holds only what it sums.
func (in Input) each(counted bool, fn func(api.Usage) error) error {
	for _, r := range in.Scans {
		err := r.Each(func(it scan.ItemResult) error {
			for _, u := range it.Usages {
				if !in.Filter.Match(u) || counted && !in.Potential && u.Status != scan.StatusConfirmed {
					continue
				}
				if err := fn(u); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// columns returns the extra columns of the input's scans, in first-seen
// order.
func (in Input) columns() []string {
	var out []string
	for _, r := range in.Scans {
		for _, c := range r.Columns {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// workKey identifies a work across tenants.
type workKey struct{ tenant, id string }

func keyOf(u api.Usage) workKey { return workKey{u.Tenant, u.WorkID} }

// sortedKeys returns m's works by id, then tenant.
func sortedKeys[V any](m map[workKey]V) []workKey {
	keys := make([]workKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b workKey) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.tenant, b.tenant)) })
	return keys
}

// secs prints seconds with millisecond precision.
func secs(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// num prints a share or a figure with up to four decimals.
func num(x float64) string { return strconv.FormatFloat(round4(x), 'f', -1, 64) }

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// ErrFormat: a report format that does not exist.
var ErrFormat = errors.New("unknown report format")

// Write writes the report of format (one of Formats) and returns the file
// name it goes by: the format's own name, or a DSR's conventional one. o
// is used by the DSR alone.
func Write(w io.Writer, format string, in Input, o DSROptions) (string, error) {
	writers := map[string]func(io.Writer, Input) error{
		"usages.csv": WriteUsagesCSV, "usages.json": WriteUsagesJSON, "works.csv": WriteWorksCSV, "works.json": WriteWorksJSON,
		"owners.csv": WriteOwnersCSV, "owners.json": WriteOwnersJSON, "audit.csv": WriteAuditCSV, "audit.json": WriteAuditJSON,
	}
	if format == "dsr.tsv" {
		return WriteDSR(w, in, o)
	}
	fn, ok := writers[format]
	if !ok {
		return "", fmt.Errorf("%w %q: want one of %s", ErrFormat, format, strings.Join(Formats, ", "))
	}
	return format, fn(w, in)
}
