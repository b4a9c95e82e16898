package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/index/manifest"
)

// ownersFlag collects repeated --owner NAME:SHARE[:ROLE] values.
type ownersFlag []index.Owner

func (o *ownersFlag) String() string { return fmt.Sprint(*o) }
func (o *ownersFlag) Set(v string) error {
	ow, err := manifest.ParseOwner(v)
	if err != nil {
		return err
	}
	*o = append(*o, ow)
	return nil
}

func runRegister(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "register", "register --db DIR --id ID [--title T] [--isrc X] [--iswc X] [--replace] FILE\n       cueprint register --db DIR --manifest works.csv [--replace]")
	sf := addStoreFlags(fs)
	var w index.Work
	var owners ownersFlag
	fs.StringVar(&w.ID, "id", "", "the work's stable `ID` (required for one file)")
	fs.StringVar(&w.Title, "title", "", "the work's title")
	fs.StringVar(&w.ISRC, "isrc", "", "ISRC of the recording")
	fs.StringVar(&w.ISWC, "iswc", "", "ISWC of the musical work")
	fs.StringVar(&w.ISAN, "isan", "", "ISAN of an audiovisual work")
	fs.StringVar(&w.EIDR, "eidr", "", "EIDR of an audiovisual work")
	fs.Var(&owners, "owner", "an owner as `NAME:SHARE[:ROLE]` (share in percent; repeatable)")
	replace := fs.Bool("replace", false, "replace a work already registered under the same ID")
	manifest := fs.String("manifest", "", "CSV `file` of works, one per line: id,title,isrc,iswc,path without a header, or a header naming\n"+
		"columns from id, title, isrc, iswc, isan, eidr, owners (NAME:SHARE[:ROLE] separated by ';'), path, url;\n"+
		"paths are relative to the file. Loading it again skips works registered with the same metadata")
	jobs := fs.Int("jobs", runtime.NumCPU(), "files fingerprinted in parallel (manifest)")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	w.Owners = owners
	switch {
	case *manifest != "" && (len(pos) > 0 || w.ID != ""):
		return fmt.Errorf("%w: --manifest takes no FILE and no --id", errUsage)
	case *manifest == "" && len(pos) != 1:
		return fmt.Errorf("%w: want exactly one FILE (or --manifest)", errUsage)
	case *manifest == "" && w.ID == "":
		return fmt.Errorf("%w: --id is required", errUsage)
	case *jobs < 1:
		return fmt.Errorf("%w: --jobs must be at least 1", errUsage)
	}
	if *manifest == "" {
		w.Normalize()
		if err := w.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}

	st, err := openStore(ctx, e, sf, true)
	if err != nil {
		return err
	}
	defer st.Close()

	if *manifest != "" {
		return registerManifest(ctx, e, st, *manifest, *replace, *jobs)
	}
	path := pos[0]
	start := time.Now()
	mpr := &mediaProgress{w: e.stderr, label: "register " + path}
	mp, err := extractReference(ctx, st, path, mpr.update)
	mpr.finish()
	if err != nil {
		return err
	}
	w.DurationS = mp.Duration().Seconds()
	stored, err := st.RegisterPrints(ctx, w, prints(mp), *replace, nil)
	if err != nil {
		return replaceHint(err)
	}
	fmt.Fprintf(e.stderr, "registered %s (%s): %.1f s, %d peaks, %d video frames, %d keys in %v\n",
		stored.ID, stored.Title, stored.DurationS, stored.Peaks, stored.VideoFrames, stored.Hashes, time.Since(start).Round(time.Millisecond))
	return nil
}

// extractReference fingerprints a file to register: its sound and its
// picture. A truncated file is refused: a reference must be whole.
// progress, if not nil, is called as the sound is decoded.
func extractReference(ctx context.Context, st *index.Store, path string, progress func(decoded, declared time.Duration)) (*fingerprint.MediaPrint, error) {
	mp, err := fingerprint.ExtractMediaFile(ctx, path, st.Params(), st.VideoParams(), fingerprint.MediaOptions{Audio: fingerprint.ExtractOptions{Progress: progress}})
	if err != nil {
		return nil, err
	}
	if mp.Truncated {
		return nil, fmt.Errorf("decode %q: file is truncated: %v decoded of %v declared", path, mp.Duration().Round(time.Millisecond), mp.DeclaredDuration.Round(time.Millisecond))
	}
	return mp, nil
}

// prints returns the store's view of a media print.
func prints(mp *fingerprint.MediaPrint) index.Prints {
	var pr index.Prints
	if mp.Audio != nil {
		pr.Audio = mp.Audio.Peaks
	}
	if mp.Video != nil {
		pr.Video = mp.Video.Frames
	}
	return pr
}

// replaceHint adds to a "work exists" error how to replace the work.
func replaceHint(err error) error {
	if errors.Is(err, index.ErrExists) {
		return fmt.Errorf("%w; --replace replaces it", err)
	}
	return err
}

// skipRegistered marks the rows whose work is already registered with the
// same metadata (a catalogue load run again resumes where it stopped)
// and, without replace, fails those registered with other metadata
// before they are fingerprinted.
func skipRegistered(st *index.Store, rows []manifest.Row, replace bool) (skip []bool, err error) {
	skip = make([]bool, len(rows))
	for i := range rows {
		row := &rows[i]
		if row.Err != nil {
			continue
		}
		old, gerr := st.GetIn(row.Work.Tenant, row.Work.ID)
		switch {
		case errors.Is(gerr, index.ErrNotFound):
			continue
		case gerr != nil:
			return nil, gerr
		case old.SameMetadata(row.Work) && !replace:
			skip[i] = true
		case !replace:
			row.Err = fmt.Errorf("%w with other metadata (title %q, registered %s); --replace replaces it",
				index.ErrExists, old.Title, old.RegisteredAt.Format(time.RFC3339))
		}
	}
	return skip, nil
}

func readManifest(path string) ([]manifest.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	rows, err := manifest.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Dir(path)
	for i, row := range rows {
		switch {
		case row.URL != "" && row.Path == "":
			rows[i].Path = row.URL // FFmpeg opens URLs
		case row.Path != "" && !filepath.IsAbs(row.Path):
			rows[i].Path = filepath.Join(base, row.Path)
		}
	}
	return rows, nil
}

func registerManifest(ctx context.Context, e *env, st *index.Store, path string, replace bool, jobs int) error {
	rows, err := readManifest(path)
	if err != nil {
		return err
	}
	skip, err := skipRegistered(st, rows, replace)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		mp  *fingerprint.MediaPrint
		err error
	}
	// Fingerprint in parallel; register in manifest order as results come.
	results := make([]chan result, len(rows))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	go func() {
		for i, row := range rows {
			if row.Err != nil || skip[i] {
				results[i] <- result{i: i}
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] <- result{i: i, err: ctx.Err()}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				mp, err := extractReference(ctx, st, row.Path, nil)
				results[i] <- result{i: i, mp: mp, err: err}
			}()
		}
	}()
	start := time.Now()
	var ok, skipped, failed, notTried int
	var audio time.Duration
	pr := newProgress(e.stderr, "register "+filepath.Base(path), len(rows))
	for i, row := range rows {
		res := <-results[i]
		if skip[i] {
			skipped++
			pr.set(i+1, fmt.Sprintf("%d registered, %d unchanged, %d failed", ok, skipped, failed))
			continue
		}
		err := row.Err
		if err == nil {
			err = res.err
		}
		if err == nil {
			row.Work.DurationS = res.mp.Duration().Seconds()
			_, err = st.RegisterPrints(ctx, row.Work, prints(res.mp), replace, nil)
			err = replaceHint(err)
		}
		if err != nil {
			failed++
			pr.printf("FAILED line %d %s: %v\n", row.Line, row.Work.ID, err)
			if errors.Is(err, index.ErrInsufficientStorage) || errors.Is(err, index.ErrReadOnly) {
				// Every later row would fail alike: stop fingerprinting.
				notTried = len(rows) - i - 1
				cancel()
				break
			}
		} else {
			ok++
			audio += res.mp.Duration()
		}
		pr.set(i+1, fmt.Sprintf("%d registered, %d unchanged, %d failed, %.1f h", ok, skipped, failed, audio.Hours()))
	}
	pr.finish()
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "summary: %d registered, %d already registered with the same metadata (skipped), %d failed, %.2f h of media in %v (%.0fx real time)\n",
		ok, skipped, failed, audio.Hours(), el.Round(time.Millisecond), audio.Seconds()/max(el.Seconds(), 1e-9))
	if ok > 1 {
		fmt.Fprintf(e.stderr, "the store holds superseded postings until Badger compacts it; 'cueprint compact --db %s' drops them now\n", st.Dir())
	}
	if notTried > 0 {
		return fmt.Errorf("stopped: the store refuses writes; %d of %d manifest rows not tried (re-run the manifest once space is freed)", notTried, len(rows))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d manifest rows failed", failed, len(rows))
	}
	return nil
}
