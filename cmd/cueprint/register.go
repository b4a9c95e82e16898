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
	manifest := fs.String("manifest", "", "CSV `file` with columns id,title,isrc,iswc,path (paths relative to the file)")
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
	mp, err := extractReference(ctx, st, path)
	if err != nil {
		return err
	}
	w.DurationS = mp.Duration().Seconds()
	stored, err := st.RegisterPrints(ctx, w, prints(mp), *replace, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "registered %s (%s): %.1f s, %d peaks, %d video frames, %d keys in %v\n",
		stored.ID, stored.Title, stored.DurationS, stored.Peaks, stored.VideoFrames, stored.Hashes, time.Since(start).Round(time.Millisecond))
	return nil
}

// extractReference fingerprints a file to register: its sound and its
// picture. A truncated file is refused: a reference must be whole.
func extractReference(ctx context.Context, st *index.Store, path string) (*fingerprint.MediaPrint, error) {
	mp, err := fingerprint.ExtractMediaFile(ctx, path, st.Params(), st.VideoParams(), fingerprint.MediaOptions{})
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
			if row.Err != nil {
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
				mp, err := extractReference(ctx, st, row.Path)
				results[i] <- result{i: i, mp: mp, err: err}
			}()
		}
	}()
	start := time.Now()
	var ok, failed, notTried int
	var audio time.Duration
	for i, row := range rows {
		res := <-results[i]
		err := row.Err
		if err == nil {
			err = res.err
		}
		if err == nil {
			row.Work.DurationS = res.mp.Duration().Seconds()
			_, err = st.RegisterPrints(ctx, row.Work, prints(res.mp), replace, nil)
		}
		prefix := fmt.Sprintf("[%d/%d]", i+1, len(rows))
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s FAILED line %d %s: %v\n", prefix, row.Line, row.Work.ID, err)
			if errors.Is(err, index.ErrInsufficientStorage) || errors.Is(err, index.ErrReadOnly) {
				// Every later row would fail alike: stop fingerprinting.
				notTried = len(rows) - i - 1
				cancel()
				break
			}
			continue
		}
		ok++
		audio += res.mp.Duration()
		fmt.Fprintf(e.stderr, "%s registered %s (%s) %.1f s\n", prefix, row.Work.ID, row.Work.Title, res.mp.Duration().Seconds())
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "summary: %d registered, %d failed, %.2f h of media in %v (%.0fx real time)\n",
		ok, failed, audio.Hours(), el.Round(time.Millisecond), audio.Seconds()/max(el.Seconds(), 1e-9))
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
