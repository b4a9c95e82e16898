package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cueprint/cueprint/index"
)

func runWorks(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want list, show ID or delete ID", errUsage)
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		sub, args = "list", []string{"list", "-h"} // the flag set's usage lists every subcommand
	}
	fs := newFlagSet(e, "works "+sub, "works list|show ID|delete ID --db DIR [--tenant NAME] [--json]")
	sf := addStoreFlags(fs)
	tenant := fs.String("tenant", "", "the `tenant` of the work (show, delete; work IDs are per tenant; default: works registered on the command line)")
	asJSON := fs.Bool("json", false, "print JSON (list, show)")
	pos, err := e.parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(pos) != 0 {
			return fmt.Errorf("%w: list takes no arguments", errUsage)
		}
	case "show", "delete":
		if len(pos) != 1 {
			return fmt.Errorf("%w: %s takes exactly one ID", errUsage, sub)
		}
	default:
		return fmt.Errorf("%w: unknown works command %q (want list, show or delete)", errUsage, sub)
	}
	st, err := openStore(ctx, e, sf, false)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "show":
		w, err := st.GetIn(*tenant, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(w)
		}
		return printWork(e, w)
	case "delete":
		if err := st.DeleteChecked(ctx, *tenant, pos[0], nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "deleted %s\n", pos[0])
		return nil
	}
	if *asJSON {
		works := []index.Work{}
		if err := st.List("", func(w index.Work) bool { works = append(works, w); return true }); err != nil {
			return err
		}
		return json.NewEncoder(e.stdout).Encode(works)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tTITLE\tDURATION\tISRC\tISWC\tISAN/EIDR\tOWNERS\tREGISTERED")
	n := 0
	err = st.List("", func(w index.Work) bool {
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f s\t%s\t%s\t%s\t%s\t%s\n", w.ID, orDash(w.Tenant), orDash(w.Title), w.DurationS,
			orDash(index.FormatISRC(w.ISRC)), orDash(index.FormatISWC(w.ISWC)), orDash(w.ISAN+w.EIDR), orDash(index.FormatOwners(w.Owners)),
			w.RegisteredAt.Format(time.RFC3339))
		return true
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d works\n", n)
	return nil
}

// orDash shows an empty cell as "-", so columns stay readable and cut.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printWork prints one work for people, a field a line.
func printWork(e *env, w index.Work) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("id", w.ID)
	row("tenant", w.Tenant)
	row("title", w.Title)
	row("isrc", index.FormatISRC(w.ISRC))
	row("iswc", index.FormatISWC(w.ISWC))
	row("isan", w.ISAN)
	row("eidr", w.EIDR)
	for _, o := range w.Owners {
		row("owner", index.FormatOwners([]index.Owner{o}))
	}
	row("duration", fmt.Sprintf("%.1f s", w.DurationS))
	row("registered", w.RegisteredAt.Format(time.RFC3339))
	row("print", fmt.Sprintf("%d peaks, %d keys, %d video frames", w.Peaks, w.Hashes, w.VideoFrames))
	return tw.Flush()
}
