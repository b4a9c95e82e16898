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
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
)

// matchOutput is the JSON shape of `cueprint match --json`: the API's
// answer to POST /v1/match, segment for segment.
type matchOutput = api.MatchResponse

func runMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "match", "match --db DIR [--json] FILE   (FILE may be - for standard input)\n       cueprint match --server URL [--key-file F] [--json] FILE")
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
	if path == "-" {
		// Standard input is held in an unlinked temporary file: sound and
		// picture are decoded in two passes.
		tmp, terr := spoolStdin(e)
		if terr != nil {
			return terr
		}
		defer tmp.Close()
		mp, segs, err = m.Query(ctx, tmp, "stdin", match.QueryOptions{})
	} else {
		mp, segs, err = m.QueryFile(ctx, path, match.QueryOptions{})
	}
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
	fmt.Fprintln(tw, "ID\tTITLE\tMODALITY\tQUERY\tREFERENCE\tDURATION\tSCORE\tCONFIDENCE\tSPEED\tPITCH")
	for _, s := range out.Matches {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f-%.2f s\t%.2f-%.2f s\t%.2f s\t%d\t%.3f\t%.3f\t%+.2f st\n", s.ID, s.Title, s.Modality,
			s.QueryStartS, s.QueryEndS, s.RefStartS, s.RefEndS, s.DurationS, s.Score, s.Confidence, s.Speed, s.PitchShiftSemitones)
	}
	return tw.Flush()
}

// matchRemote matches a file (or standard input, streamed) on a daemon.
func matchRemote(ctx context.Context, e *env, serverURL, keyFile, path string) (matchOutput, error) {
	key := os.Getenv("CUEPRINT_KEY")
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return matchOutput{}, fmt.Errorf("%w: --key-file: %v", errUsage, err)
		}
		key = strings.TrimSpace(string(b))
	}
	cl, err := client.New(serverURL, key, nil)
	if err != nil {
		return matchOutput{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	out := matchOutput{Query: api.Query{Path: path}, Matches: []api.Segment{}}
	if path == "-" {
		// Standard input may be a live stream: match it as it arrives.
		end, err := cl.MatchStream(ctx, e.stdin, func(s api.Segment) error { out.Matches = append(out.Matches, s); return nil })
		if err != nil {
			return out, err
		}
		out.Query.DurationS = end.Query.DurationS
		return out, nil
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
