// Package manifest reads catalogue manifests: CSV files listing works to
// register, one per line, with the media each comes from. The command
// line (`cueprint register --manifest`) and the daemon's bulk
// registration (POST /v1/works/bulk) read the same format.
//
// # Format
//
// CSV, '#' starts a comment line. Without a header the columns are
// id,title,isrc,iswc,path. A first line with a field "id" is a header
// naming the columns, in any order, from: id, title, isrc, iswc,
// isan, eidr, owners (NAME:SHARE[:ROLE] separated by ';'), path and url.
// A row needs an id and a path or url. Identifiers are normalised and
// validated as index.Work does; a bad row is returned with its error, the
// others are still usable.
package manifest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cueprint/cueprint/index"
)

// Row is one work of a manifest.
type Row struct {
	// Line is the row's line number in the file (1-based).
	Line int
	Work index.Work
	// Path is the media file as written (relative paths are the caller's
	// to resolve); URL is set instead when the row has a url column.
	Path, URL string
	// Err is why the row cannot be registered (nil when it can).
	Err error
}

// MaxRows bounds a manifest, so a malformed upload cannot exhaust memory.
const MaxRows = 1_000_000

// Parse reads a manifest. An error is returned only when the file as a
// whole cannot be read (bad CSV, no path column); row problems are in
// Row.Err.
func Parse(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	cols := map[string]int{"id": 0, "title": 1, "isrc": 2, "iswc": 3, "path": 4}
	var rows []Row
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if n == 1 && slices.ContainsFunc(rec, func(f string) bool { return strings.EqualFold(strings.TrimSpace(f), "id") }) {
			cols = map[string]int{}
			for i, c := range rec {
				cols[strings.ToLower(strings.TrimSpace(c))] = i
			}
			_, hasPath := cols["path"]
			_, hasURL := cols["url"]
			if !hasPath && !hasURL {
				return nil, errors.New("manifest: header has no path or url column")
			}
			continue
		}
		if len(rows) == MaxRows {
			return nil, fmt.Errorf("manifest: more than %d rows", MaxRows)
		}
		get := func(c string) string {
			if i, ok := cols[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := Row{Line: line, Path: get("path"), URL: get("url")}
		row.Work = index.Work{ID: get("id"), Title: get("title"), ISRC: get("isrc"), ISWC: get("iswc"), ISAN: get("isan"), EIDR: get("eidr")}
		if o := get("owners"); o != "" {
			for _, part := range strings.Split(o, ";") {
				ow, err := ParseOwner(strings.TrimSpace(part))
				if err != nil {
					row.Err = err
					break
				}
				row.Work.Owners = append(row.Work.Owners, ow)
			}
		}
		row.Work.Normalize()
		if row.Err == nil {
			row.Err = row.Work.Validate()
		}
		if row.Err == nil && row.Path == "" && row.URL == "" {
			row.Err = errors.New("no path")
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// ParseOwner parses NAME:SHARE or NAME:SHARE:ROLE (share in percent).
func ParseOwner(v string) (index.Owner, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return index.Owner{}, fmt.Errorf("owner %q: want NAME:SHARE or NAME:SHARE:ROLE", v)
	}
	share, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return index.Owner{}, fmt.Errorf("owner %q: share: %w", v, err)
	}
	o := index.Owner{Name: parts[0], Share: share}
	if len(parts) == 3 {
		o.Role = parts[2]
	}
	return o, nil
}
