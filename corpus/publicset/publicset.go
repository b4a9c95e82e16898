// Package publicset reads lists of real recordings: the public music set
// of shared/corpus (installed by scripts/install-deps.sh) or any list of
// `duration<TAB>path` lines, and the real speech Debian ships.
package publicset

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvList names the environment variable holding the list's path; the
// Makefile sets it.
const EnvList = "CUEPRINT_MEDIA_LIST"

// ErrNoList: no list is installed (run `make deps`).
var ErrNoList = errors.New("publicset: no media list (run make deps)")

// Track is one recording.
type Track struct {
	Path      string
	DurationS float64
}

// Name is the track's file name, with its folder for Frets on Fire's
// song.ogg files.
func (t Track) Name() string {
	base := filepath.Base(t.Path)
	if base == "song.ogg" {
		return filepath.Base(filepath.Dir(t.Path))
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Default returns the tracks of the list named by EnvList, or of
// .cache/set_A.tsv found from the working directory upwards.
func Default() ([]Track, error) {
	if p := os.Getenv(EnvList); p != "" {
		return Load(p)
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		p := filepath.Join(dir, ".cache", "set_A.tsv")
		if _, err := os.Stat(p); err == nil {
			return Load(p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, ErrNoList
		}
		dir = parent
	}
}

// Load reads a `duration<TAB>path` list.
func Load(path string) ([]Track, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("publicset: %w", err)
	}
	defer f.Close()
	var out []Track
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d, p, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("publicset: %s:%d: want duration<TAB>path", path, n)
		}
		dur, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
		if err != nil {
			return nil, fmt.Errorf("publicset: %s:%d: duration: %w", path, n, err)
		}
		out = append(out, Track{Path: p, DurationS: dur})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("publicset: %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("publicset: %s: empty list", path)
	}
	return out, nil
}

// Undecodable reports whether a track is one of the three public-set
// files whose Vorbis headers FFmpeg 5.1 rejects ("Header processing
// failed"): a real bad-input case.
func Undecodable(t Track) bool {
	switch filepath.Base(t.Path) {
	case "hr-savino-caribbean.ogg", "hr-savino-ivory.ogg", "hr-savino-ocean.ogg":
		return true
	}
	return false
}

// Decodable returns the first n tracks of the default list that FFmpeg
// decodes and that last longer than minS seconds, or fewer when the list
// holds fewer: what tests draw their real music from. ErrNoList when no
// list is installed.
func Decodable(n int, minS float64) ([]Track, error) {
	all, err := Default()
	if err != nil {
		return nil, err
	}
	var out []Track
	for _, t := range all {
		if !Undecodable(t) && t.DurationS > minS && len(out) < n {
			out = append(out, t)
		}
	}
	return out, nil
}

// SpeechDir holds real read Russian speech (festvox-ru), 16 kHz WAV.
const SpeechDir = "/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav"

// Speech returns up to n speech recordings, spread over the corpus.
func Speech(n int) ([]string, error) {
	all, err := filepath.Glob(filepath.Join(SpeechDir, "*.wav"))
	if err != nil || len(all) == 0 {
		return nil, fmt.Errorf("publicset: no speech in %s (install festvox-ru)", SpeechDir)
	}
	if n >= len(all) {
		return all, nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*len(all)/n]
	}
	return out, nil
}

// TB is the part of testing.TB that MustUndecodable needs.
type TB interface {
	Helper()
	Skip(args ...any)
}

// MustUndecodable returns the paths of the installed public-set files
// that FFmpeg cannot read (none when the set is not installed).
func MustUndecodable(t TB) []string {
	t.Helper()
	tracks, err := Default()
	if err != nil {
		return nil
	}
	var out []string
	for _, tr := range tracks {
		if Undecodable(tr) {
			out = append(out, tr.Path)
		}
	}
	return out
}
