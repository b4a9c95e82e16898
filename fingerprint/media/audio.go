package media

/*
#cgo pkg-config: libavutil
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>

static int cueprint_nb_samples(const AVFrame *f) { return f->nb_samples; }

// cueprint_layout_mask is the channel mask of a layout that has one, else 0
// (a custom layout's map is a pointer, not a value to compare).
static unsigned long long cueprint_layout_mask(const AVFrame *f) {
	if (f->ch_layout.order == AV_CHANNEL_ORDER_NATIVE || f->ch_layout.order == AV_CHANNEL_ORDER_AMBISONIC)
		return f->ch_layout.u.mask;
	return 0;
}
static const float *cueprint_plane0(const AVFrame *f) { return (const float *)f->data[0]; }
static int cueprint_is_flt_mono(const AVFrame *f) {
	return f->format == AV_SAMPLE_FMT_FLT && f->ch_layout.nb_channels == 1;
}
*/
import "C"

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// checkContextEveryNPackets is how often the packet loop looks at ctx. A
// packet is 20-100 ms of audio, so 64 packets bound the reaction time to a
// few seconds of media (milliseconds of wall time) without a check per
// packet.
const checkContextEveryNPackets = 64

// readerBufferBytes is the size of the AVIOContext buffer used for
// io.Reader input: large enough that FFmpeg's probing rarely needs more
// than one read, small enough to be irrelevant to memory.
const readerBufferBytes = 64 << 10

// AudioOptions says what PCM the caller wants.
type AudioOptions struct {
	// SampleRateHz is the output sample rate. Required, 1000 to 192000.
	SampleRateHz int
	// Filters is an optional FFmpeg audio filter chain (filtergraph syntax,
	// e.g. "asetrate=46305,aresample=44100") applied to the decoded audio
	// before resampling to SampleRateHz and down-mixing to mono. Empty for
	// none. The benchmark uses it to degrade queries in process.
	Filters string
	// MaxDuration stops decoding with ErrTooLong once more output than this
	// has been produced. Zero means no limit.
	MaxDuration time.Duration
	// Progress, if set, is called as decoding goes on, every
	// ProgressInterval of media, with the media decoded so far and the
	// duration the container declares (zero when it declares none): a
	// long file's progress on the command line.
	Progress func(decoded, declared time.Duration)
}

// ProgressInterval is how much media is decoded between two calls of
// AudioOptions.Progress.
const ProgressInterval = 10 * time.Second

// Validate reports every invalid field.
func (o AudioOptions) Validate() error {
	var errs []error
	if o.SampleRateHz < 1000 || o.SampleRateHz > 192000 {
		errs = append(errs, fmt.Errorf("media: SampleRateHz = %d, want 1000 to 192000", o.SampleRateHz))
	}
	if o.MaxDuration < 0 {
		errs = append(errs, fmt.Errorf("media: MaxDuration = %v, want >= 0", o.MaxDuration))
	}
	return errors.Join(errs...)
}

// AudioInfo describes what was decoded.
type AudioInfo struct {
	// Format is the demuxer's short name ("ogg", "mov,mp4,m4a,3gp,3g2,mj2", ...).
	Format string
	// Codec is the audio decoder's name ("vorbis", "aac", ...).
	Codec string
	// SourceSampleRateHz and Channels describe the stream as stored.
	SourceSampleRateHz int
	Channels           int
	// DeclaredDuration is the duration the container announces, zero when
	// it announces none.
	DeclaredDuration time.Duration
	// Decoded is the duration of the PCM handed to the caller.
	Decoded time.Duration
	// Samples is the number of output samples handed to the caller.
	Samples int64
	// CorruptPackets counts packets the decoder rejected and skipped.
	CorruptPackets int
	// Truncated is set when the stream ended well before the duration the
	// container declared (at least 1 s and 10 % short): the file was cut.
	Truncated bool
}

// SampleFunc receives decoded mono PCM. The slice is reused: it is valid
// only until the function returns. Returning an error stops decoding and
// is returned (wrapped) by the decode call.
type SampleFunc func(samples []float32) error

// DecodeAudioFile decodes the best audio stream of the file at path. The
// path is always read as a local file (FFmpeg protocols such as http: are
// not interpreted).
func DecodeAudioFile(ctx context.Context, path string, opts AudioOptions, fn SampleFunc) (AudioInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return AudioInfo{}, &DecodeError{Op: "open", Path: path, Err: err}
	}
	return decodeAudio(ctx, path, "file:"+abs, nil, opts, fn)
}

// DecodeAudioReader decodes the best audio stream read from r, through a
// custom AVIOContext. name is used in errors only. When r is also an
// io.Seeker, FFmpeg may seek (needed by MP4 files whose index is at the
// end); otherwise the input is read once, front to back, as a stream.
func DecodeAudioReader(ctx context.Context, r io.Reader, name string, opts AudioOptions, fn SampleFunc) (AudioInfo, error) {
	return decodeAudio(ctx, name, "", r, opts, fn)
}

// audioDecoder owns every FFmpeg object of one decode. It is used by one
// goroutine only.
type audioDecoder struct {
	pipeline
	opts AudioOptions
	fn   SampleFunc

	buf        []float32
	info       AudioInfo
	maxSamples int64
	// nextProgress is when Progress is called next.
	nextProgress time.Duration
	decodeOnly   bool // count decoded samples; no filtering, no callback

	// Without extra filters, frames go through rs, libswresample called
	// directly, rather than a filter graph (see resampler); rsKey is the
	// frame parameters rs was opened for. viaGraph forces the graph (tests
	// compare the two).
	viaGraph bool
	rs       resampler
	rsKey    graphKey
}

// DecodeOnlyFile decodes the best audio stream of the file at path and
// discards the frames: no resampling, no filtering. It measures FFmpeg's
// own decoding speed, the ceiling of any fingerprinting throughput. The
// returned AudioInfo.Samples counts decoded samples at the source rate.
func DecodeOnlyFile(ctx context.Context, path string) (AudioInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return AudioInfo{}, &DecodeError{Op: "open", Path: path, Err: err}
	}
	return decodeAudioMode(ctx, path, "file:"+abs, nil, AudioOptions{SampleRateHz: 8000}, nil, true)
}

func decodeAudio(ctx context.Context, name, url string, r io.Reader, opts AudioOptions, fn SampleFunc) (info AudioInfo, err error) {
	return decodeAudioMode(ctx, name, url, r, opts, fn, false)
}

func decodeAudioMode(ctx context.Context, name, url string, r io.Reader, opts AudioOptions, fn SampleFunc, decodeOnly bool) (info AudioInfo, err error) {
	return decodeAudioWith(ctx, name, url, r, opts, fn, decodeOnly, false)
}

// decodeAudioWith is decodeAudioMode; viaGraph resamples through a filter
// graph even without extra filters.
func decodeAudioWith(ctx context.Context, name, url string, r io.Reader, opts AudioOptions, fn SampleFunc, decodeOnly, viaGraph bool) (info AudioInfo, err error) {
	if err := opts.Validate(); err != nil {
		return AudioInfo{}, &DecodeError{Op: "options", Path: name, Err: err}
	}
	d := &audioDecoder{pipeline: pipeline{name: name}, opts: opts, fn: fn, decodeOnly: decodeOnly, viaGraph: viaGraph || opts.Filters != ""}
	d.onFrame, d.consume = d.decoded, d.filtered
	if !d.viaGraph {
		d.drained = d.flushResampler
	}
	if opts.MaxDuration > 0 {
		d.maxSamples = int64(opts.MaxDuration.Seconds() * float64(opts.SampleRateHz))
	}
	err = d.decode(ctx, func() error { return d.open(ctx, url, r) }, d.finish, &d.info.CorruptPackets)
	return d.info, err
}

func (d *audioDecoder) open(ctx context.Context, url string, r io.Reader) error {
	codec, in, err := d.openStream(ctx, url, r, astiav.MediaTypeAudio, "audio", ErrNoAudio)
	d.info.Format, d.info.DeclaredDuration = in.format, in.declared
	if err != nil {
		return err
	}
	if err := d.openCodec(codec, nil); err != nil {
		return err
	}
	d.closer.add(d.rs.free)
	d.info.Codec = codec.Name()
	d.info.SourceSampleRateHz = d.cc.SampleRate()
	d.info.Channels = d.cc.ChannelLayout().NbChannels()
	return nil
}

// finish checks what was decoded and fills in the summary.
func (d *audioDecoder) finish() error {
	if d.decodeOnly && d.info.SourceSampleRateHz > 0 {
		d.info.Decoded = time.Duration(float64(d.info.Samples) / float64(d.info.SourceSampleRateHz) * float64(time.Second))
	}
	if err := d.checkCorrupt(d.info.Samples > 0, ErrEmpty); err != nil {
		return err
	}
	d.info.Truncated = d.truncated(d.info.Decoded, d.info.DeclaredDuration)
	return nil
}

// decoded handles one decoded frame.
func (d *audioDecoder) decoded(f *astiav.Frame) error {
	if d.decodeOnly {
		d.info.Samples += int64(f.NbSamples())
		return nil
	}
	if !d.viaGraph {
		return d.resample(f)
	}
	if err := d.ensureGraph(f, audioFrameKey(f), d.buildGraph); err != nil {
		return err
	}
	return d.filter(f)
}

// resample hands f's samples on through the resampler, (re)opened for
// f's parameters: a stream that changes them mid-way (a new chained Ogg
// stream) has what the old resampler holds flushed first.
func (d *audioDecoder) resample(f *astiav.Frame) error {
	if key := audioFrameKey(f); d.rs.swr == nil || key != d.rsKey {
		// The key holds the sample rate: checking it here checks every
		// frame the resampler will see.
		if f.SampleRate() <= 0 {
			return d.fail("resample", fmt.Errorf("%w: sample rate %d", ErrUndecodable, f.SampleRate()))
		}
		if err := d.flushResampler(); err != nil {
			return err
		}
		if err := d.rs.open(f, d.opts.SampleRateHz); err != nil {
			return d.fail("resample", fmt.Errorf("%w: %w", ErrUndecodable, err))
		}
		d.rsKey = key
	}
	out, err := d.rs.convert(f)
	if err != nil {
		return d.fail("resample", err)
	}
	return d.emit(out)
}

// flushResampler hands on what the resampler still holds (its filter's
// delay) at the end of the stream or before it is reopened.
func (d *audioDecoder) flushResampler() error {
	if d.rs.swr == nil {
		return nil
	}
	out, err := d.rs.convert(nil)
	if err != nil {
		return d.fail("resample", err)
	}
	return d.emit(out)
}

// audioFrameKey identifies the parameters a filter graph or the resampler
// was built for.
// It is computed for every frame, so it reads the frame's fields rather
// than formatting them (describing the layout costs a printf and two
// allocations, a few percent of the whole decode).
func audioFrameKey(f *astiav.Frame) graphKey {
	cf := (*C.AVFrame)(f.UnsafePointer())
	return graphKey{
		int64(cf.sample_rate), int64(cf.format),
		int64(cf.ch_layout.order), int64(cf.ch_layout.nb_channels),
		int64(C.cueprint_layout_mask(cf)),
	}
}

// layoutArg names a channel layout the way abuffer parses it. A layout
// with unspecified order (e.g. some WAV files) is passed as its channel
// count; FFmpeg then picks the default layout for that count.
func layoutArg(l astiav.ChannelLayout) string {
	s := l.String()
	if s == "" || strings.Contains(s, "channels") {
		n := l.NbChannels()
		if n <= 0 {
			n = 1
		}
		return strconv.Itoa(n) + "c"
	}
	return s
}

func (d *audioDecoder) buildGraph(f *astiav.Frame) (err error) {
	if f.SampleRate() <= 0 {
		return fmt.Errorf("%w: sample rate %d", ErrUndecodable, f.SampleRate())
	}
	if d.graph = astiav.AllocFilterGraph(); d.graph == nil {
		return errors.New("media: cannot allocate filter graph")
	}
	d.graph.SetThreadCount(1)
	src := astiav.FindFilterByName("abuffer")
	sink := astiav.FindFilterByName("abuffersink")
	if src == nil || sink == nil {
		return errors.New("media: abuffer/abuffersink filters missing from this FFmpeg")
	}
	if d.src, err = d.graph.NewFilterContext(src, "in", astiav.FilterArgs{
		"channel_layout": layoutArg(f.ChannelLayout()),
		"sample_fmt":     f.SampleFormat().Name(),
		"sample_rate":    strconv.Itoa(f.SampleRate()),
		"time_base":      "1/" + strconv.Itoa(f.SampleRate()),
	}); err != nil {
		return fmt.Errorf("abuffer: %w", err)
	}
	// The sink accepts packed float mono only. aformat down-mixes to one
	// planar float channel at the source rate first (FFmpeg inserts the
	// converter it needs; none for planar float mono), then aresample
	// resamples that one channel and format negotiation makes it write
	// packed float. Given both at once, libswresample would resample every
	// channel before mixing them, twice the work for stereo.
	// sample_fmts is a binary option: the raw bytes of an int array, which
	// an options string gives in hex.
	var sf [4]byte
	binary.NativeEndian.PutUint32(sf[:], uint32(astiav.SampleFormatFlt))
	if d.sink, err = d.graph.NewFilterContext(sink, "out", astiav.FilterArgs{
		"sample_fmts": hex.EncodeToString(sf[:]),
		"ch_layouts":  "mono",
	}); err != nil {
		return fmt.Errorf("abuffersink: %w", err)
	}
	// A short resampling filter is enough since the band we analyse ends
	// well below the new Nyquist frequency. Every filter in the chain
	// costs per frame beyond its own work (FFmpeg 5.1 formats each link's
	// channel layout for a trace log on every frame): without extra
	// filters the graph is not used at all, and resampler runs the same
	// two steps (see resampler).
	spec := fmt.Sprintf("aformat=sample_fmts=fltp:channel_layouts=mono,aresample=%d:filter_size=%d", d.opts.SampleRateHz, resampleFilterSize)
	if d.opts.Filters != "" {
		// Extra filters (the benchmark's degradations) get mono in and
		// out, as they always have: a filter that processes channels
		// apart (rubberband) gives another signal when its channels are
		// summed after it, and the benchmark's queries must not change
		// with the decoder's plumbing.
		spec = d.opts.Filters + "," + spec
	}
	return parseGraph(d.graph, spec, d.src, d.sink)
}

// filtered hands one filtered frame's samples to the caller.
func (d *audioDecoder) filtered(f *astiav.Frame) error {
	cf := (*C.AVFrame)(f.UnsafePointer())
	n := int(C.cueprint_nb_samples(cf))
	if n <= 0 {
		return nil
	}
	if C.cueprint_is_flt_mono(cf) == 0 {
		// The sink's format constraint did not hold: reading the frame
		// as mono float would hand over noise.
		return d.fail("filter", errors.New("media: filter graph output is not packed float mono"))
	}
	src := unsafe.Slice((*float32)(unsafe.Pointer(C.cueprint_plane0(cf))), n)
	if cap(d.buf) < n {
		d.buf = make([]float32, n)
	}
	d.buf = d.buf[:n]
	copy(d.buf, src)
	return d.emit(d.buf)
}

// emit hands samples to the caller, counting them against MaxDuration.
func (d *audioDecoder) emit(samples []float32) error {
	n := len(samples)
	if n == 0 {
		return nil
	}
	d.info.Samples += int64(n)
	d.info.Decoded = time.Duration(float64(d.info.Samples) / float64(d.opts.SampleRateHz) * float64(time.Second))
	if d.maxSamples > 0 && d.info.Samples > d.maxSamples {
		return d.fail("decode", fmt.Errorf("%w: more than %v", ErrTooLong, d.opts.MaxDuration))
	}
	if err := d.fn(samples); err != nil {
		return d.fail("consume", err)
	}
	if d.opts.Progress != nil && d.info.Decoded >= d.nextProgress {
		d.nextProgress = d.info.Decoded + ProgressInterval
		d.opts.Progress(d.info.Decoded, d.info.DeclaredDuration)
	}
	return nil
}

// classifyOpenError maps avformat_open_input's failure onto our sentinels.
func classifyOpenError(err error) error {
	switch {
	case errors.Is(err, errEnoent):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, astiav.ErrEof):
		return fmt.Errorf("%w: empty or truncated input: %w", ErrUnsupportedMedia, err)
	default:
		return fmt.Errorf("%w: %w", ErrUnsupportedMedia, err)
	}
}
