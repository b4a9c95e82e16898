package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cueprint/cueprint/corpus/degrade"
	"github.com/cueprint/cueprint/fingerprint/media"
)

// codecs are the encodings `cueprint excerpt --codec` offers.
var codecs = map[string]media.Codec{
	"wav":  {Encoder: "pcm_s16le", Format: "wav"},
	"mp3":  {Encoder: "libmp3lame", Format: "mp3"},
	"aac":  {Encoder: "aac", Format: "adts"},
	"opus": {Encoder: "libopus", Format: "ogg"},
}

// runExcerpt renders a degraded excerpt of a recording: how to make a
// realistic query to try cueprint on (and what the benchmark does).
func runExcerpt(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "excerpt", "excerpt --start S --length L [degradations] --out OUT FILE")
	start := fs.Float64("start", 0, "start of the excerpt in `seconds`")
	length := fs.Float64("length", 10, "length of the excerpt in `seconds`")
	speed := fs.Float64("speed", 1, "play at this speed `ratio` (tempo and pitch together)")
	tempo := fs.Float64("tempo", 1, "change the tempo only by this `ratio`")
	pitch := fs.Float64("pitch", 0, "shift the pitch only by this many `cents`")
	phone := fs.Bool("phone", false, "telephone chain: 300-3400 Hz, reverb, 8 kHz")
	noise := fs.String("noise", "", "add `white`, pink noise, or mix (another recording, --mix)")
	snr := fs.Float64("snr", 10, "signal-to-noise ratio of --noise in `dB`")
	mixPath := fs.String("mix", "", "the recording to mix in with --noise mix")
	codec := fs.String("codec", "wav", "output encoding: wav, mp3, aac or opus")
	bitrate := fs.Int("bitrate", 64, "bit rate of lossy codecs in `kb/s`")
	out := fs.String("out", "", "output `file` (required)")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return fmt.Errorf("%w: want exactly one FILE", errUsage)
	case *out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case *length <= 0 || *start < 0:
		return fmt.Errorf("%w: --start must be >= 0 and --length > 0", errUsage)
	case *speed <= 0 || *tempo <= 0:
		return fmt.Errorf("%w: --speed and --tempo must be > 0", errUsage)
	}
	c, ok := codecs[*codec]
	if !ok {
		return fmt.Errorf("%w: unknown --codec %q", errUsage, *codec)
	}
	if c.Encoder != "pcm_s16le" {
		c.BitRate = int64(*bitrate) * 1000
	}
	var chain []string
	cond := degrade.Condition{Name: "excerpt", Codec: &c, Speed: *speed * *tempo}
	if *speed != 1 {
		chain = append(chain, degrade.Speed(*speed).Filters)
	}
	if *tempo != 1 {
		chain = append(chain, degrade.Tempo(*tempo).Filters)
	}
	if *pitch != 0 {
		chain = append(chain, degrade.Pitch(*pitch).Filters)
	}
	if *phone {
		chain = append(chain, degrade.Phone().Filters)
	}
	cond.Filters = strings.Join(chain, ",")
	var mix *degrade.Excerpt
	switch *noise {
	case "":
	case degrade.NoiseWhite, degrade.NoisePink:
		cond.Noise, cond.SNRdB = *noise, *snr
	case degrade.NoiseMix:
		if *mixPath == "" {
			return fmt.Errorf("%w: --noise mix needs --mix FILE", errUsage)
		}
		cond.Noise, cond.SNRdB = *noise, *snr
		mix = &degrade.Excerpt{Path: *mixPath, StartS: 0, LengthS: *length * 2}
	default:
		return fmt.Errorf("%w: unknown --noise %q", errUsage, *noise)
	}
	b, dur, err := degrade.Render(ctx, degrade.Excerpt{Path: pos[0], StartS: *start, LengthS: *length}, cond, 1, mix)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s: %.2f s of %s from %.2f s\n", *out, dur, pos[0], *start)
	return nil
}
