package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cueprint/cueprint/server/report"
	"github.com/cueprint/cueprint/server/scan"
)

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", "report --db DIR --scan ID [--format F] [--out FILE|DIR]\n"+
		"       cueprint report --db DIR --from YYYY-MM-DD --to YYYY-MM-DD [--format F]   (every scan's lines of a usage period)\n\n"+
		"Formats: "+strings.Join(report.Formats, ", ")+".\n"+
		"usages.* list every usage line (potential ones with their status); works.* and owners.* total the confirmed\n"+
		"lines per work and per owner; audit.* is a training-set audit; dsr.tsv is a DDEX DSR flat file (UGC profile 1.2),\n"+
		"which needs --sender-party-id and --sender-name. The same scan gives the same bytes; a DSR's creation time is\n"+
		"now unless --created fixes it.")
	db := fs.String("db", defaultDB, "store `directory`")
	scanID := fs.String("scan", "", "the scan to report")
	format := fs.String("format", "usages.csv", "report `format`")
	out := fs.String("out", "", "write to this `file` (a directory: the format's file name in it; a DSR gets its conventional name) instead of standard output")
	var f scan.Filter
	fs.StringVar(&f.From, "from", "", "first day of the usage period (YYYY-MM-DD)")
	fs.StringVar(&f.To, "to", "", "last day of the usage period (YYYY-MM-DD)")
	fs.StringVar(&f.WorkID, "work", "", "only this work's lines")
	fs.StringVar(&f.Owner, "owner", "", "only the lines of works this owner holds a share of")
	fs.StringVar(&f.ItemID, "item", "", "only this item's lines")
	fs.StringVar(&f.Status, "status", "", "only confirmed or potential lines")
	potential := fs.Bool("potential", false, "count potential lines in totals, audits and DSRs too")
	o := report.DefaultDSROptions()
	fs.StringVar(&o.SenderPartyID, "sender-party-id", "", "DSR: the sender's DDEX Party ID (PADPIDA...)")
	fs.StringVar(&o.SenderName, "sender-name", "", "DSR: the sender's name")
	fs.StringVar(&o.RecipientPartyID, "recipient-party-id", "", "DSR: the recipient's DDEX Party ID")
	fs.StringVar(&o.RecipientName, "recipient-name", "", "DSR: the recipient's name")
	fs.StringVar(&o.ServiceDescription, "service", o.ServiceDescription, "DSR: the service description")
	fs.StringVar(&o.MessageID, "message-id", "", "DSR: the message id (default: derived from the scans)")
	fs.StringVar(&o.Currency, "currency", o.Currency, "DSR: ISO 4217 currency of the revenue cells")
	created := fs.String("created", "", "DSR: creation time, RFC 3339 (default: now)")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	f.All = true // the command line owns its store
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *scanID == "" && (f.From == "" || f.To == "") {
		return fmt.Errorf("%w: give --scan ID, or a period: --from and --to", errUsage)
	}
	if err := storeDirExists(*db); err != nil {
		return err
	}
	mgr, err := scan.Open(scan.Config{Dir: *db, Log: e.log})
	if err != nil {
		return err
	}
	defer mgr.Close()
	in := report.Input{Filter: f, Potential: *potential}
	if *scanID != "" {
		f.ScanID = *scanID
		in.Filter = f
		res, err := mgr.Results(*scanID)
		if errors.Is(err, scan.ErrNotFound) {
			return fmt.Errorf("%w (cueprint scan --db %s --list shows the store's scans)", err, *db)
		}
		if err != nil {
			return err
		}
		in.Scans = []scan.Results{res}
	} else {
		in.Scans = mgr.AllResults(f)
	}
	if *format == "dsr.tsv" {
		o.Start, o.End = f.From, f.To
		o.Created = time.Now().UTC().Truncate(time.Second)
		if *created != "" {
			if o.Created, err = time.Parse(time.RFC3339, *created); err != nil {
				return fmt.Errorf("%w: --created %q: want RFC 3339 (2026-12-05T10:00:00Z)", errUsage, *created)
			}
		}
	}
	var buf bytes.Buffer
	name, err := report.Write(&buf, *format, in, o)
	switch {
	case errors.Is(err, report.ErrFormat):
		return fmt.Errorf("%w: --format: %v", errUsage, err)
	case err != nil && *format == "dsr.tsv":
		return fmt.Errorf("%w: DSR: %v", errUsage, err)
	case err != nil:
		return err
	}
	if *out == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	path := *out
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, name)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "wrote", path)
	return nil
}
