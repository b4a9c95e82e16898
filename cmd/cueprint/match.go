package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/client"
)

// matchOutput is the JSON shape of `cueprint match --json`.
type matchOutput struct {
	Query   queryOutput   `json:"query"`
	Matches []segmentJSON `json:"matches"`
}

type queryOutput struct {
	Path      string  `json:"path"`
	DurationS float64 `json:"duration_s"`
}

// segmentJSON is one match, the fields shared by the CLI and the HTTP API.
type segmentJSON struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	QueryStartS float64 `json:"query_start_s"`
	QueryEndS   float64 `json:"query_end_s"`
	RefStartS   float64 `json:"ref_start_s"`
	RefEndS     float64 `json:"ref_end_s"`
	DurationS   float64 `json:"duration_s"`
	Score       int     `json:"score"`
	Confidence  float64 `json:"confidence"`
	Speed       float64 `json:"speed"`
	Modality    string  `json:"modality"`
}

func toJSON(s match.Segment) segmentJSON {
	return segmentJSON{
		ID: s.Work.ID, Title: s.Work.Title,
		QueryStartS: s.QueryStart, QueryEndS: s.QueryEnd,
		RefStartS: s.RefStart, RefEndS: s.RefEnd,
		DurationS: millis(s.Duration()), Score: s.Score, Confidence: s.Confidence, Speed: s.Speed,
		Modality: s.Modality,
	}
}

// millis rounds seconds to the millisecond, as match rounds segment times.
func millis(x float64) float64 { return math.Round(x*1000) / 1000 }

func runMatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "match", "match --db DIR [--json] FILE   (FILE may be - for standard input)\n       cueprint match --server URL [--key-file F] [--json] FILE")
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	serverURL := fs.String("server", "", "match on a cueprint daemon at this `URL` instead of a local store (key: $CUEPRINT_KEY or --key-file)")
	keyFile := fs.String("key-file", "", "`file` holding the API key for --server")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one FILE", errUsage)
	}
	if *serverURL != "" {
		out, pitch, err := matchRemote(ctx, e, *serverURL, *keyFile, pos[0])
		if err != nil {
			return err
		}
		return printMatches(e, out, pitch, *asJSON)
	}
	st, err := openStore(ctx, e, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := match.New(st, match.DefaultParams(), e.log)
	if err != nil {
		return err
	}
	path := pos[0]
	opts := fingerprint.MediaOptions{Audio: fingerprint.QueryOptions(), Video: fingerprint.VideoOptions{Query: true}}
	var mp *fingerprint.MediaPrint
	if path == "-" {
		// Standard input is held in an unlinked temporary file: sound and
		// picture are decoded in two passes.
		tmp, terr := spoolStdin(e)
		if terr != nil {
			return terr
		}
		defer tmp.Close()
		mp, err = fingerprint.ExtractMediaReader(ctx, tmp, "stdin", st.Params(), st.VideoParams(), opts)
	} else {
		mp, err = fingerprint.ExtractMediaFile(ctx, path, st.Params(), st.VideoParams(), opts)
	}
	var segs []match.Segment
	switch {
	case fingerprint.IsNoMediaContent(err):
		// Silence, black: a valid query that matches nothing.
		if mp == nil {
			mp = &fingerprint.MediaPrint{}
		}
	case err != nil:
		return err
	default:
		if segs, err = m.MatchMedia(ctx, mp); err != nil {
			return err
		}
	}
	out := matchOutput{Query: queryOutput{Path: path, DurationS: millis(mp.Duration().Seconds())}, Matches: []segmentJSON{}}
	var pitch []float64
	for _, s := range segs {
		out.Matches = append(out.Matches, toJSON(s))
		pitch = append(pitch, s.PitchShift)
	}
	return printMatches(e, out, pitch, *asJSON)
}

// printMatches prints a match result as JSON or as a table.
func printMatches(e *env, out matchOutput, pitch []float64, asJSON bool) error {
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
	for i, s := range out.Matches {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f-%.2f s\t%.2f-%.2f s\t%.2f s\t%d\t%.3f\t%.3f\t%+.2f st\n", s.ID, s.Title, s.Modality,
			s.QueryStartS, s.QueryEndS, s.RefStartS, s.RefEndS, s.DurationS, s.Score, s.Confidence, s.Speed, pitch[i])
	}
	return tw.Flush()
}

// matchRemote matches a file (or standard input, streamed) on a daemon.
func matchRemote(ctx context.Context, e *env, serverURL, keyFile, path string) (matchOutput, []float64, error) {
	key := os.Getenv("CUEPRINT_KEY")
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return matchOutput{}, nil, fmt.Errorf("%w: --key-file: %v", errUsage, err)
		}
		key = strings.TrimSpace(string(b))
	}
	cl, err := client.New(serverURL, key, nil)
	if err != nil {
		return matchOutput{}, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	out := matchOutput{Query: queryOutput{Path: path}, Matches: []segmentJSON{}}
	var pitch []float64
	add := func(s api.Segment) {
		out.Matches = append(out.Matches, segmentJSON{ID: s.ID, Title: s.Title, QueryStartS: s.QueryStartS, QueryEndS: s.QueryEndS,
			RefStartS: s.RefStartS, RefEndS: s.RefEndS, DurationS: s.DurationS, Score: s.Score, Confidence: s.Confidence, Speed: s.Speed,
			Modality: s.Modality})
		pitch = append(pitch, s.PitchShiftSemitones)
	}
	if path == "-" {
		// Standard input may be a live stream: match it as it arrives.
		end, err := cl.MatchStream(ctx, e.stdin, func(s api.Segment) error { add(s); return nil })
		if err != nil {
			return out, nil, err
		}
		out.Query.DurationS = end.Query.DurationS
		return out, pitch, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return out, nil, err
	}
	defer f.Close()
	res, err := cl.Match(ctx, f)
	if err != nil {
		return out, nil, fmt.Errorf("match %q: %w", path, err)
	}
	out.Query.DurationS = res.Query.DurationS
	for _, s := range res.Matches {
		add(s)
	}
	return out, pitch, nil
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
