package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/scan"
)

// mediaExts are the file name extensions a dataset scan takes (the rest
// of a dataset, metadata and text, is not media).
var mediaExts = map[string]bool{
	".mp3": true, ".wav": true, ".flac": true, ".ogg": true, ".oga": true, ".opus": true, ".m4a": true, ".aac": true,
	".wma": true, ".aif": true, ".aiff": true, ".mp2": true, ".ac3": true, ".mka": true, ".webm": true, ".mp4": true,
	".m4v": true, ".mkv": true, ".mov": true, ".avi": true, ".ts": true, ".mpg": true, ".mpeg": true, ".flv": true, ".3gp": true,
}

func runScan(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "scan", "scan --db DIR --items LIST.csv|LIST.json [--name N] [--workers N]\n"+
		"       cueprint scan --db DIR --dataset DIR   (a training-set audit of every media file under DIR)\n"+
		"       cueprint scan --db DIR --list | --delete ID\n\n"+
		"Matches every item's whole timeline against the store and records each use of a registered work as a\n"+
		"usage line (see cueprint report). The list is CSV with a header naming item_id and media (a path, relative\n"+
		"to --media-root, or an http(s) URL with --allow-remote-urls) and optionally uploader, title, views or plays,\n"+
		"territory, period (2026-11, 2026-11-05, 2026-11-01--2026-11-15); other columns are kept. Running the same\n"+
		"command again resumes an interrupted scan where it stopped; a finished one is reported again.")
	sf := addStoreFlags(fs)
	items := fs.String("items", "", "the item list, CSV (or JSON: an array of items, or {\"items\":[...]})")
	dataset := fs.String("dataset", "", "scan every media file under this `directory` as a dataset (training-set audit)")
	list := fs.Bool("list", false, "list the store's scans and exit")
	del := fs.String("delete", "", "delete this `scan` and its usage lines, and exit")
	name := fs.String("name", "", "name of the scan (the same name and list are the same scan)")
	kind := fs.String("kind", "", "catalogue (default) or dataset")
	mediaRoot := fs.String("media-root", "", "`directory` relative media paths are taken from, and which they may not leave (default: the list's directory)")
	workers := fs.Int("workers", runtime.NumCPU(), "items processed at once")
	allowURLs := fs.Bool("allow-remote-urls", false, "let items name http(s) URLs, fetched within --max-item-size (an HLS playlist's segments; a live stream for 60 s)")
	maxDur := fs.Duration("max-item-duration", 24*time.Hour, "longest media of one item (longer: the item fails with media_too_long)")
	maxBytes := byteSize(16 << 30)
	fs.Var(&maxBytes, "max-item-size", "largest file of one item")
	set := scan.DefaultSettings()
	fs.Float64Var(&set.MinDurationS, "min-duration", set.MinDurationS, "`seconds` a use must play to be confirmed (shorter: potential)")
	fs.Float64Var(&set.MinConfidence, "min-confidence", set.MinConfidence, "confidence a use needs to be confirmed")
	fs.Float64Var(&set.MergeGapS, "merge-gap", set.MergeGapS, "`seconds` of gap that does not split a use of one work")
	asJSON := fs.Bool("json", false, "print the finished scan as JSON")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *list {
		return listScans(e, sf.db)
	}
	if *del != "" {
		return deleteScan(e, sf.db, *del)
	}
	switch {
	case (*items == "") == (*dataset == ""):
		return fmt.Errorf("%w: give --items LIST or --dataset DIR", errUsage)
	case *workers < 1:
		return fmt.Errorf("%w: --workers %d: want at least 1", errUsage, *workers)
	}
	// The command line owns its store: every line carries its owners.
	req := scan.Request{Name: *name, Kind: *kind, Settings: set, AllOwners: true}
	root := *mediaRoot
	if *dataset != "" {
		if req.Kind == "" {
			req.Kind = scan.KindDataset
		}
		if root == "" {
			root = *dataset
		}
		if req.Items, err = datasetItems(*dataset); err != nil {
			return err
		}
	} else {
		if root == "" {
			root = filepath.Dir(*items)
		}
		if req.Items, req.Columns, err = readItems(*items); err != nil {
			return err
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: --media-root %s is not a directory", errUsage, root)
	}

	st, err := openStore(ctx, e, sf, false)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := match.New(st, match.DefaultParams(), e.log)
	if err != nil {
		return err
	}
	qo := match.QueryOptions{MaxDuration: *maxDur}
	matchItem := func(ctx context.Context, it api.ScanItem) (float64, []match.Segment, error) {
		if strings.HasPrefix(it.Media, "http://") || strings.HasPrefix(it.Media, "https://") {
			if !*allowURLs {
				return 0, nil, &server.Error{Status: http.StatusUnprocessableEntity, Code: "url_not_allowed", Message: "remote URLs need --allow-remote-urls"}
			}
			// Fetched as the daemon fetches: within --max-item-size, an HLS
			// playlist's segments, a live stream for a minute.
			fm, err := server.Fetch(ctx, it.Media, int64(maxBytes), *maxDur, 0)
			if err != nil {
				return 0, nil, err
			}
			defer fm.Close()
			mp, segs, err := m.Query(ctx, fm.R, fm.Name, qo)
			return durationOf(mp), segs, err
		}
		f, err := server.OpenLocal(root, it.Media, int64(maxBytes))
		if err != nil {
			return 0, nil, err
		}
		defer f.Close()
		mp, segs, err := m.Query(ctx, f, filepath.Base(it.Media), qo)
		return durationOf(mp), segs, err
	}
	mgr, err := scan.Open(scan.Config{Dir: sf.db, Match: matchItem, Classify: server.ErrorCode, Workers: *workers, Log: e.log})
	if err != nil {
		return err
	}
	defer mgr.Close()
	if err := scan.ValidateItems(req.Items, 1); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	sc, created, err := mgr.Create(req)
	if errors.Is(err, scan.ErrInvalid) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	switch {
	case created:
		fmt.Fprintf(e.stderr, "scan %s: %d items\n", sc.ID, sc.Total)
	case sc.State == scan.StateDone:
		fmt.Fprintf(e.stderr, "scan %s: done already\n", sc.ID)
	default:
		fmt.Fprintf(e.stderr, "scan %s: resuming at %d/%d items\n", sc.ID, sc.Done, sc.Total)
	}
	start, startDone := time.Now(), sc.Done
	pr := newProgress(e.stderr, sc.ID, sc.Total)
	pr.set(sc.Done, "")
	sc, err = mgr.Run(ctx, sc.ID, func(p api.Scan) {
		detail := fmt.Sprintf("%d errors, %.2f h of media", p.Failed, p.MediaHours)
		if p.ItemsPerMinute > 0 {
			detail += fmt.Sprintf(", %.1f items/min, ETA %s", p.ItemsPerMinute, (time.Duration(p.ETAS) * time.Second).String())
		}
		pr.set(p.Done, detail)
	})
	pr.finish()
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted at %d/%d items; run the same command to resume", sc.Done, sc.Total)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sc)
	}
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "scan %s %s: %d items, %d failed, %d usage lines, %.3f h of media", sc.ID, sc.State, sc.Total, sc.Failed, sc.Usages, sc.MediaHours)
	if n := sc.Done - startDone; n > 0 {
		fmt.Fprintf(e.stdout, "; %d items in %s", n, el.Round(time.Millisecond))
	}
	fmt.Fprintln(e.stdout)
	for i, x := range sc.Errors {
		if i == 10 {
			fmt.Fprintf(e.stdout, "  ... %d more (cueprint report --scan %s)\n", sc.Failed-10, sc.ID)
			break
		}
		fmt.Fprintf(e.stdout, "  line %d %s: %s: %s\n", x.Line, x.ItemID, x.Code, x.Error)
	}
	fmt.Fprintf(e.stdout, "report: cueprint report --db %s --scan %s [--format usages.csv|works.csv|owners.csv|audit.json|dsr.tsv ...]\n", sf.db, sc.ID)
	return nil
}

// durationOf is a print's media duration in seconds (0 for none).
func durationOf(mp *fingerprint.MediaPrint) float64 {
	if mp == nil {
		return 0
	}
	return mp.Duration().Seconds()
}

// readItems reads a CSV or JSON item list.
func readItems(path string) ([]api.ScanItem, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --items: %v", errUsage, err)
	}
	trimmed := strings.TrimSpace(string(b))
	if strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "{") {
		var req api.ScanRequest
		if strings.HasPrefix(trimmed, "[") {
			err = json.Unmarshal(b, &req.Items)
		} else {
			err = json.Unmarshal(b, &req)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --items %s: %v", errUsage, path, err)
		}
		return req.Items, nil, nil
	}
	items, cols, err := scan.ParseCSV(strings.NewReader(string(b)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --items %s: %v", errUsage, path, err)
	}
	return items, cols, nil
}

// datasetItems lists the media files under dir (hidden ones aside),
// sorted: each is an item whose id and media are its path under dir.
func datasetItems(dir string) ([]api.ScanItem, error) {
	var items []api.ScanItem
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && mediaExts[strings.ToLower(filepath.Ext(p))] {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			items = append(items, api.ScanItem{ItemID: rel, Media: rel})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: --dataset: %v", errUsage, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: --dataset %s holds no media files", errUsage, dir)
	}
	slices.SortFunc(items, func(a, b api.ScanItem) int { return strings.Compare(a.ItemID, b.ItemID) })
	return items, nil
}

// deleteScan removes a scan from the store.
func deleteScan(e *env, db, id string) error {
	if err := storeDirExists(db); err != nil {
		return err
	}
	mgr, err := scan.Open(scan.Config{Dir: db, Log: e.log})
	if err != nil {
		return err
	}
	defer mgr.Close()
	if err := mgr.Delete(id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted scan %s\n", id)
	return nil
}

// listScans prints the store's scans.
func listScans(e *env, db string) error {
	if err := storeDirExists(db); err != nil {
		return err
	}
	mgr, err := scan.Open(scan.Config{Dir: db, Log: e.log})
	if err != nil {
		return err
	}
	defer mgr.Close()
	scans := mgr.List("", true)
	if len(scans) == 0 {
		fmt.Fprintln(e.stdout, "no scans")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKIND\tSTATE\tITEMS\tFAILED\tUSAGES\tHOURS\tCREATED")
	for _, s := range scans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%d\t%.3f\t%s\n", s.ID, s.Name, s.Kind, s.State, s.Done, s.Total, s.Failed, s.Usages,
			s.MediaHours, s.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
