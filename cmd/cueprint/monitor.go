package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
)

// runMonitor manages a daemon's monitors (streams it watches) and reads
// its events: monitors run in the daemon, so every subcommand talks to
// one (--server, key in $CUEPRINT_KEY or --key-file).
func runMonitor(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want add, list, show ID, rm ID or events", errUsage)
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		sub, args = "list", []string{"list", "-h"} // the flag set's usage lists every subcommand
	}
	fs := newFlagSet(e, "monitor "+sub, "monitor add --server URL --name NAME [--territory CC] [--channel ID] STREAM-URL\n"+
		"       cueprint monitor list --server URL [--json]\n"+
		"       cueprint monitor show --server URL [--json] ID\n"+
		"       cueprint monitor rm --server URL ID\n"+
		"       cueprint monitor events --server URL [--monitor ID] [--type T] [--after N]")
	server := fs.String("server", "", "the daemon's `URL` (default: http://127.0.0.1 on the port of $CUEPRINT_LISTEN, else :8080)")
	keyFile := fs.String("key-file", "", "read the API key from this `file` (default: $CUEPRINT_KEY)")
	name := fs.String("name", "", "the station or channel's `name` (add)")
	territory := fs.String("territory", "", "the station's country `code` (add)")
	channel := fs.String("channel", "", "the station's own channel `id` (add)")
	asJSON := fs.Bool("json", false, "print JSON (list, show)")
	monitors := fs.String("monitor", "", "only the events of these monitor `ids`, comma-separated (events)")
	types := fs.String("type", "", "only events of these `types`, comma-separated: play.started, play.ended, monitor.state (events)")
	after := fs.Int64("after", -1, "print the events after this `id` (0: every event kept), then the new ones (events; default: the new ones)")
	pos, err := e.parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "add" && (len(pos) != 1 || *name == ""):
		return fmt.Errorf("%w: add needs --name and the stream's URL", errUsage)
	case (sub == "list" || sub == "events") && len(pos) != 0:
		return fmt.Errorf("%w: %s takes no arguments", errUsage, sub)
	case (sub == "show" || sub == "rm") && len(pos) != 1:
		return fmt.Errorf("%w: %s takes exactly one monitor ID", errUsage, sub)
	case !strings.Contains(" add list show rm events ", " "+sub+" "):
		return fmt.Errorf("%w: unknown monitor command %q (want add, list, show, rm or events)", errUsage, sub)
	}
	if *server == "" {
		*server = "http://" + localAddr(e)
	}
	cl, err := remoteClient(e, *server, *keyFile)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		m, err := cl.AddMonitor(ctx, api.MonitorRequest{URL: pos[0], Name: *name, Territory: *territory, ChannelID: *channel})
		if err != nil {
			return fmt.Errorf("monitor add: %w", err)
		}
		fmt.Fprintln(e.stdout, m.ID)
		return nil
	case "list":
		list, err := cl.ListMonitors(ctx)
		if err != nil {
			return fmt.Errorf("monitor list: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(list)
		}
		defer fmt.Fprintf(e.stdout, "%d monitor(s); the daemon holds about %d at %.1f %% of a core each\n",
			len(list.Monitors), list.Capacity, 100*list.CorePerMonitor)
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATE\tSINCE\tPLAYING\tPLAYS\tHEARD\tURL")
		for _, m := range list.Monitors {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Name, m.Status.State, m.Status.Since.Format(time.RFC3339),
				playing(m.Status.Playing), m.Status.Plays, time.Duration(m.Status.HeardS*float64(time.Second)).Round(time.Second), m.URL)
		}
		return tw.Flush()
	case "show":
		m, err := cl.Monitor(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("monitor show: %w", err)
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(m)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, kv := range [][2]string{
			{"id", m.ID}, {"name", m.Name}, {"url", m.URL}, {"territory", m.Territory}, {"channel", m.ChannelID}, {"tenant", m.Tenant},
			{"state", m.Status.State + " since " + m.Status.Since.Format(time.RFC3339)}, {"error", m.Status.Error},
			{"reconnects", fmt.Sprint(m.Status.Reconnects)}, {"plays", fmt.Sprint(m.Status.Plays)},
			{"heard", time.Duration(m.Status.HeardS * float64(time.Second)).Round(time.Second).String()},
			{"playing", playing(m.Status.Playing)},
		} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
			}
		}
		return tw.Flush()
	case "rm":
		if err := cl.RemoveMonitor(ctx, pos[0]); err != nil {
			return fmt.Errorf("monitor rm: %w", err)
		}
		return nil
	}
	// events: one JSON event a line, as they come, until interrupted.
	q := client.EventQuery{Types: splitList(*types), Monitors: splitList(*monitors)}
	if *after >= 0 {
		q.After, q.FromStart = uint64(*after), true
	}
	enc := json.NewEncoder(e.stdout)
	err = cl.Events(ctx, q, func(ev api.Event) error { return enc.Encode(ev) })
	if err != nil {
		return fmt.Errorf("monitor events: %w", err)
	}
	return nil
}

// playing names the works of plays under way.
func playing(ps []api.Play) string {
	var names []string
	for _, p := range ps {
		names = append(names, fmt.Sprintf("%s (since %s)", p.Work.ID, p.StartedAt.Format(time.TimeOnly)))
	}
	return strings.Join(names, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
