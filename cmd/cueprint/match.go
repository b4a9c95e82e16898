package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
)

// matchOutput is the JSON shape of `cueprint match --json`: the API's
// answer to POST /v1/match, segment for segment.
type matchOutput = api.MatchResponse

func runMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "match", "match --db DIR [--json] FILE   (FILE may be - for standard input)\n       cueprint match --server URL [--key-file F] [--json] FILE\n\n"+
		"With --server and FILE -, standard input is sent as it is read (a live feed) and each match is printed\n"+
		"when the daemon confirms it; with --json, as the daemon's events, one JSON object a line.")
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	serverURL := fs.String("server", "", "match on a cueprint daemon at this `URL` instead of a local store (key: $CUEPRINT_KEY or --key-file)")
	keyFile := fs.String("key-file", "", "`file` holding the API key for --server")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one FILE", errUsage)
	}
	if *serverURL != "" && pos[0] == "-" {
		return matchRemoteStream(ctx, e, *serverURL, *keyFile, *asJSON)
	}
	if *serverURL != "" {
		out, err := matchRemote(ctx, e, *serverURL, *keyFile, pos[0])
		if err != nil {
			return err
		}
		return printMatches(e, out, *asJSON)
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
	path := pos[0]
	var mp *fingerprint.MediaPrint
	var segs []match.Segment
	mpr := &mediaProgress{w: e.stderr, label: "match " + path}
	qo := match.QueryOptions{Progress: mpr.update}
	if path == "-" {
		// Standard input is held in an unlinked temporary file: sound and
		// picture are decoded in two passes.
		tmp, terr := spoolStdin(e)
		if terr != nil {
			return terr
		}
		defer tmp.Close()
		mp, segs, err = m.Query(ctx, tmp, "stdin", qo)
	} else {
		mp, segs, err = m.QueryFile(ctx, path, qo)
	}
	mpr.finish()
	if err != nil {
		return err
	}
	// The store is the caller's own: every segment carries its attribution.
	out := matchOutput{Query: api.Query{Path: path, DurationS: api.Millis(mp.Duration().Seconds())}, Matches: []api.Segment{}}
	for _, s := range segs {
		out.Matches = append(out.Matches, api.NewSegment(s, true))
	}
	return printMatches(e, out, *asJSON)
}

// printMatches prints a match result as JSON or as a table.
func printMatches(e *env, out matchOutput, asJSON bool) error {
	path := out.Query.Path
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(out)
	}
	if len(out.Matches) == 0 {
		fmt.Fprintf(e.stdout, "%s (%.1f s): no match\n", path, out.Query.DurationS)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s (%.1f s): %d match(es)\n", path, out.Query.DurationS, len(out.Matches))
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, segmentHeader)
	for _, s := range out.Matches {
		fmt.Fprintln(tw, segmentRow(s))
	}
	return tw.Flush()
}

// segmentHeader and segmentRow are the table of matches, tab-separated.
const segmentHeader = "ID\tTITLE\tMODALITY\tQUERY\tREFERENCE\tDURATION\tSCORE\tCONFIDENCE\tSPEED\tPITCH\tISRC\tISWC\tOWNERS"

func segmentRow(s api.Segment) string {
	owners := make([]index.Owner, len(s.Owners))
	for i, o := range s.Owners {
		owners[i] = index.Owner{Name: o.Name, Share: o.Share, Role: o.Role}
	}
	return fmt.Sprintf("%s\t%s\t%s\t%.2f-%.2f s\t%.2f-%.2f s\t%.2f s\t%d\t%.3f\t%.3f\t%+.2f st\t%s\t%s\t%s", s.ID, orDash(s.Title), s.Modality,
		s.QueryStartS, s.QueryEndS, s.RefStartS, s.RefEndS, s.DurationS, s.Score, s.Confidence, s.Speed, s.PitchShiftSemitones,
		orDash(index.FormatISRC(s.ISRC)), orDash(index.FormatISWC(s.ISWC)), orDash(index.FormatOwners(owners)))
}

// matchRemoteStream sends standard input to a daemon's stream endpoint as
// it is read (a live feed, say) and prints each segment the moment the
// daemon confirms it: a table row, or with asJSON the daemon's own
// events, one JSON object a line, ending with the "end" event.
func matchRemoteStream(ctx context.Context, e *env, serverURL, keyFile string, asJSON bool) error {
	cl, err := remoteClient(e, serverURL, keyFile)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	if !asJSON {
		fmt.Fprintln(e.stdout, strings.ReplaceAll(segmentHeader, "\t", "  "))
	}
	n := 0
	end, err := cl.MatchStream(ctx, e.stdin, func(s api.Segment) error {
		n++
		if asJSON {
			return enc.Encode(api.StreamEvent{Type: "segment", Segment: &s})
		}
		_, err := fmt.Fprintln(e.stdout, strings.ReplaceAll(segmentRow(s), "\t", "  "))
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		return enc.Encode(end)
	}
	fmt.Fprintf(e.stdout, "stdin (%.1f s): %d match(es)\n", end.Query.DurationS, n)
	return nil
}

// remoteClient returns a client of a daemon with the key of $CUEPRINT_KEY
// or keyFile.
func remoteClient(e *env, serverURL, keyFile string) (*client.Client, error) {
	key, _ := e.lookupEnv("CUEPRINT_KEY")
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --key-file: %v", errUsage, err)
		}
		key = strings.TrimSpace(string(b))
	}
	cl, err := client.New(serverURL, key, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cl, nil
}

// matchRemote matches a file on a daemon; a request the daemon turns
// away as overloaded is sent again after its Retry-After (client.Client).
func matchRemote(ctx context.Context, e *env, serverURL, keyFile, path string) (matchOutput, error) {
	out := matchOutput{Query: api.Query{Path: path}, Matches: []api.Segment{}}
	cl, err := remoteClient(e, serverURL, keyFile)
	if err != nil {
		return out, err
	}
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	res, err := cl.Match(ctx, f)
	if err != nil {
		return out, fmt.Errorf("match %q: %w", path, err)
	}
	res.Query.Path = path
	if res.Matches == nil {
		res.Matches = []api.Segment{}
	}
	return *res, nil
}

// spoolStdin copies standard input to an unlinked temporary file, rewound.
func spoolStdin(e *env) (*os.File, error) {
	f, err := os.CreateTemp("", "cueprint-stdin-*")
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	os.Remove(f.Name()) // gone when closed, even after a crash
	if _, err := io.Copy(f, e.stdin); err != nil {
		f.Close()
		return nil, fmt.Errorf("stdin: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("stdin: %w", err)
	}
	return f, nil
}
