package media

/*
#cgo pkg-config: libavutil
#include <stdlib.h>
#include <libavutil/frame.h>
#include <libavutil/dict.h>
#include <libavcodec/avcodec.h>

static const uint8_t *cueprint_vplane0(const AVFrame *f) { return f->data[0]; }
static int cueprint_vlinesize0(const AVFrame *f) { return f->linesize[0]; }
static int cueprint_vwidth(const AVFrame *f) { return f->width; }
static int cueprint_vheight(const AVFrame *f) { return f->height; }
static long long cueprint_vpts(const AVFrame *f) { return (long long)f->pts; }
static int cueprint_meta_int(const AVFrame *f, const char *key, int *out) {
	AVDictionaryEntry *e = av_dict_get(f->metadata, key, NULL, 0);
	char *end;
	long v;
	if (!e) return 0;
	v = strtol(e->value, &end, 10);
	if (end == e->value) return 0;
	*out = (int)v;
	return 1;
}
// cueprint_cropdetect reads the box cropdetect left in the frame's
// metadata; it returns 0 when there is none.
static int cueprint_cropdetect(const AVFrame *f, int *x1, int *x2, int *y1, int *y2) {
	return cueprint_meta_int(f, "lavfi.cropdetect.x1", x1) &&
		cueprint_meta_int(f, "lavfi.cropdetect.x2", x2) &&
		cueprint_meta_int(f, "lavfi.cropdetect.y1", y1) &&
		cueprint_meta_int(f, "lavfi.cropdetect.y2", y2);
}
// cueprint_codec_check reports whether c is the codec context of the
// given size and codec (see codecContextOf).
static int cueprint_codec_check(const AVCodecContext *c, int w, int h, int id) {
	return c && c->width == w && c->height == h && (int)c->codec_id == id;
}
// cueprint_skip_nonref sets whether the decoder skips the frames no other
// frame refers to, from the next packet on.
static void cueprint_skip_nonref(AVCodecContext *c, int skip) {
	c->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
}
static void cueprint_fix_pts(AVFrame *f) {
	if (f->pts == AV_NOPTS_VALUE) f->pts = f->best_effort_timestamp;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// VideoOptions says what pictures the caller wants.
type VideoOptions struct {
	// FPS is how many frames a second are sampled (FFmpeg's fps filter,
	// nearest frame). Required, 1 to 30.
	FPS int
	// Width and Height are the size every sampled frame is scaled to
	// (FFmpeg's scale filter, area averaging), whatever its aspect ratio.
	// Required, 16 to 1024 each.
	Width, Height int
	// Filters is an optional FFmpeg video filter chain applied to every
	// decoded frame before sampling (e.g. "hflip,crop=iw*0.9:ih*0.9"). Empty
	// for none. The benchmark uses it to degrade queries in process.
	Filters string
	// MaxDuration stops decoding with ErrTooLong once frames past this time
	// have been produced. Zero means no limit.
	MaxDuration time.Duration
	// SkipNonReference lets the decoder skip the in-loop deblocking filter
	// and the frames no other frame refers to, except those a sample may
	// be taken from: 1.5 times the speed of a full decode for 720p H.264
	// with B-frames, for slightly blockier pictures (irrelevant to a
	// perceptual hash of a small grey frame). Each tick still gets the frame the fps
	// filter would pick from a full decode (see skipper), so what is
	// sampled does not depend on how the file was encoded. Without a
	// frame rate or timestamps to go by, and with Filters, nothing is
	// skipped but the deblocking.
	SkipNonReference bool
}

// Validate reports every invalid field.
func (o VideoOptions) Validate() error {
	var errs []error
	if o.FPS < 1 || o.FPS > 30 {
		errs = append(errs, fmt.Errorf("media: FPS = %d, want 1 to 30", o.FPS))
	}
	if o.Width < 16 || o.Width > 1024 {
		errs = append(errs, fmt.Errorf("media: Width = %d, want 16 to 1024", o.Width))
	}
	if o.Height < 16 || o.Height > 1024 {
		errs = append(errs, fmt.Errorf("media: Height = %d, want 16 to 1024", o.Height))
	}
	if o.MaxDuration < 0 {
		errs = append(errs, fmt.Errorf("media: MaxDuration = %v, want >= 0", o.MaxDuration))
	}
	return errors.Join(errs...)
}

// VideoInfo describes what was decoded.
type VideoInfo struct {
	// Format is the demuxer's short name.
	Format string
	// Codec is the video decoder's name ("h264", "cinepak", ...).
	Codec string
	// SourceWidth and SourceHeight are the stream's picture size.
	SourceWidth, SourceHeight int
	// DeclaredDuration is the duration the container announces, zero when
	// it announces none.
	DeclaredDuration time.Duration
	// Decoded is the time just past the last sampled frame.
	Decoded time.Duration
	// Frames is the number of sampled frames handed to the caller.
	Frames int
	// DecodedFrames is the number of frames the decoder produced (fewer
	// than the stream has when VideoOptions.SkipNonReference skipped some).
	DecodedFrames int
	// CorruptPackets counts packets the decoder rejected and skipped.
	CorruptPackets int
	// Truncated is set when the stream ended well before the duration the
	// container declared (at least 1 s and 10 % short).
	Truncated bool
}

// Rect is a rectangle of a frame, in pixels.
type Rect struct{ X, Y, W, H int }

// VideoFrame is one sampled frame, grey, at VideoOptions' size.
type VideoFrame struct {
	// Time is the frame's presentation time from the start of the stream.
	Time time.Duration
	// Width and Height give the size of Pix, one byte of luma per pixel,
	// rows packed (stride = Width).
	Width, Height int
	Pix           []byte
	// Active is the part of the picture that is not black border
	// (letterbox, pillarbox), found in this frame alone: FFmpeg's
	// cropdetect box (the rows and columns brighter than black), with each
	// pair of opposite bars cut to the thinner of the two. Bars are
	// centred, while a dark edge of the picture itself is usually on one
	// side only; and a box that depends on this frame only is the same in
	// a copy that starts elsewhere or follows other footage (a box grown
	// over the frames so far is not). The whole frame when cropdetect has
	// no opinion.
	Active Rect
}

// FrameFunc receives sampled frames. The frame's Pix is reused: it is
// valid only until the function returns. Returning an error stops
// decoding and is returned (wrapped) by the decode call.
type FrameFunc func(f *VideoFrame) error

// DecodeVideoFile decodes the best video stream of the file at path. The
// path is always read as a local file.
func DecodeVideoFile(ctx context.Context, path string, opts VideoOptions, fn FrameFunc) (VideoInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return VideoInfo{}, &DecodeError{Op: "open", Path: path, Err: err}
	}
	return decodeVideo(ctx, path, "file:"+abs, nil, opts, fn)
}

// DecodeVideoReader decodes the best video stream read from r, through a
// custom AVIOContext (see DecodeAudioReader). name is used in errors only.
func DecodeVideoReader(ctx context.Context, r io.Reader, name string, opts VideoOptions, fn FrameFunc) (VideoInfo, error) {
	return decodeVideo(ctx, name, "", r, opts, fn)
}

// videoDecoder owns every FFmpeg object of one video decode. It is used
// by one goroutine only.
type videoDecoder struct {
	pipeline
	opts VideoOptions
	fn   FrameFunc

	frame    VideoFrame
	info     VideoInfo
	firstPts int64 // pts of the first sampled frame, in fps ticks
	skip     skipper
}

func decodeVideo(ctx context.Context, name, url string, r io.Reader, opts VideoOptions, fn FrameFunc) (info VideoInfo, err error) {
	if err := opts.Validate(); err != nil {
		return VideoInfo{}, &DecodeError{Op: "options", Path: name, Err: err}
	}
	d := &videoDecoder{pipeline: pipeline{name: name}, opts: opts, fn: fn}
	d.onFrame, d.consume = d.decoded, d.filtered
	err = d.decode(ctx, func() error { return d.open(ctx, url, r) }, d.finish, &d.info.CorruptPackets)
	return d.info, err
}

func (d *videoDecoder) open(ctx context.Context, url string, r io.Reader) error {
	codec, in, err := d.openStream(ctx, url, r, astiav.MediaTypeVideo, "video", ErrNoVideo)
	d.info.Format, d.info.DeclaredDuration = in.format, in.declared
	if err != nil {
		return err
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	if d.opts.SkipNonReference {
		_ = dict.Set("skip_loop_filter", "all", astiav.NewDictionaryFlags())
	}
	if err := d.openCodec(codec, dict); err != nil {
		return err
	}
	if d.opts.SkipNonReference && d.opts.Filters == "" {
		d.skip = newSkipper(codecContextOf(d.cc), d.stream, d.opts.FPS)
		if d.skip.cc != nil {
			d.beforeSend = d.skip.packet
		}
	}
	d.info.Codec = codec.Name()
	d.info.SourceWidth, d.info.SourceHeight = d.cc.Width(), d.cc.Height()
	return nil
}

// skipper decides, packet by packet, whether the decoder may skip the
// packet's frame when no other frame refers to it.
//
// FFmpeg's fps filter (round=near) gives tick n the last frame whose
// presentation time t has t*FPS < n+0.5. Skipping every non-reference
// frame (a B-frame, in most H.264) would give it an earlier frame
// instead, which one depending on the encoder's choice of frame types:
// the reference and a copy of it would then be sampled at different
// moments. A still shot's motion series (fingerprint/motion.go) does not
// survive that: a 15 fps copy of a 25 fps work correlated at 0.45 with
// it, against 0.99 when both are sampled from every frame. So a frame is
// decoded whenever it lies within window of the next boundary n+0.5
// above it (1.25 frame durations: one would do at a constant rate; the
// quarter leaves room for jitter in the timestamps); only the others may
// be skipped. At a constant rate that is one frame a tick: one in six at
// 30 frames a second and 5 samples a second. A stream whose frames come
// farther apart than that (variable rate) may still see a tick given an
// earlier frame than a full decode would.
type skipper struct {
	cc       *C.AVCodecContext // nil: skip nothing
	tb       float64           // stream time base, seconds
	fps      float64           // samples a second
	window   float64           // in ticks of 1/fps
	skipping bool
}

// newSkipper returns the skipper of stream's decoder cc (nil: none) at
// fps samples a second. It skips nothing when the stream has no frame
// rate to go by.
func newSkipper(cc *C.AVCodecContext, stream *astiav.Stream, fps int) skipper {
	rate := stream.RFrameRate()
	if rate.Num() <= 0 || rate.Den() <= 0 {
		rate = stream.AvgFrameRate()
	}
	tb := stream.TimeBase()
	if cc == nil || rate.Num() <= 0 || rate.Den() <= 0 || tb.Num() <= 0 || tb.Den() <= 0 {
		return skipper{}
	}
	return skipper{cc: cc, tb: tb.Float64(), fps: float64(fps), window: 1.25 * float64(fps) / rate.Float64()}
}

// packet sets the decoder's skipping for pkt, which is about to be sent.
func (s *skipper) packet(pkt *astiav.Packet) {
	skip := false
	if pts := pkt.Pts(); pts != astiav.NoPtsValue {
		x := float64(pts) * s.tb * s.fps
		skip = math.Floor(x-0.5)+1.5-x > s.window
	}
	if skip != s.skipping {
		C.cueprint_skip_nonref(s.cc, boolInt(skip))
		s.skipping = skip
	}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// codecContextOf returns the AVCodecContext of cc, or nil. go-astiav
// v0.16 (the last line for FFmpeg 5.1, pinned in go.mod) has no accessor
// for it; its CodecContext holds it as its first field. The pointer is
// used only after it is checked against what go-astiav itself reads
// through it (picture size and codec); should the layout ever differ,
// the check fails and nothing is skipped.
func codecContextOf(cc *astiav.CodecContext) *C.AVCodecContext {
	c := *(**C.AVCodecContext)(unsafe.Pointer(cc))
	if C.cueprint_codec_check(c, C.int(cc.Width()), C.int(cc.Height()), C.int(cc.CodecID())) == 0 {
		return nil
	}
	return c
}

func (d *videoDecoder) finish() error {
	if err := d.checkCorrupt(d.info.Frames > 0, ErrNoFrames); err != nil {
		return err
	}
	d.info.Truncated = d.truncated(d.info.Decoded, d.info.DeclaredDuration)
	return nil
}

// decoded handles one decoded frame.
func (d *videoDecoder) decoded(f *astiav.Frame) error {
	if d.sinkEOF {
		return nil
	}
	d.info.DecodedFrames++
	// Frames without a timestamp get the decoder's best guess, so the fps
	// filter can place them.
	C.cueprint_fix_pts((*C.AVFrame)(f.UnsafePointer()))
	if err := d.ensureGraph(f, videoFrameKey(f), d.buildGraph); err != nil {
		return err
	}
	return d.filter(f)
}

func videoFrameKey(f *astiav.Frame) graphKey {
	sar := f.SampleAspectRatio()
	return graphKey{int64(f.Width()), int64(f.Height()), int64(f.PixelFormat()), int64(sar.Num()), int64(sar.Den())}
}

func (d *videoDecoder) buildGraph(f *astiav.Frame) (err error) {
	if f.Width() <= 0 || f.Height() <= 0 {
		return fmt.Errorf("%w: picture of %dx%d", ErrUndecodable, f.Width(), f.Height())
	}
	if d.graph = astiav.AllocFilterGraph(); d.graph == nil {
		return errors.New("media: cannot allocate filter graph")
	}
	d.graph.SetThreadCount(1)
	src := astiav.FindFilterByName("buffer")
	sink := astiav.FindFilterByName("buffersink")
	if src == nil || sink == nil {
		return errors.New("media: buffer/buffersink filters missing from this FFmpeg")
	}
	tb := d.stream.TimeBase()
	sar := f.SampleAspectRatio()
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = astiav.NewRational(1, 1)
	}
	if d.src, err = d.graph.NewFilterContext(src, "in", astiav.FilterArgs{
		"video_size":   fmt.Sprintf("%dx%d", f.Width(), f.Height()),
		"pix_fmt":      strconv.Itoa(int(f.PixelFormat())),
		"time_base":    fmt.Sprintf("%d/%d", tb.Num(), tb.Den()),
		"pixel_aspect": fmt.Sprintf("%d/%d", sar.Num(), sar.Den()),
	}); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	if d.sink, err = d.graph.NewFilterContext(sink, "out", nil); err != nil {
		return fmt.Errorf("buffersink: %w", err)
	}
	// Sample first (the rest only runs on the frames kept), scale with
	// area averaging, then to grey, then find the black borders: cropdetect
	// only annotates the frame (reset=1: its box is the frame's own, see
	// VideoFrame.Active), cueprint crops.
	spec := fmt.Sprintf("fps=%d:round=near,scale=%d:%d:flags=area,format=gray,cropdetect=limit=24:round=1:skip=0:reset=1",
		d.opts.FPS, d.opts.Width, d.opts.Height)
	if d.opts.Filters != "" {
		spec = d.opts.Filters + "," + spec
	}
	return parseGraph(d.graph, spec, d.src, d.sink)
}

// symmetricBars returns the active area of a w x h frame whose content
// box is x1..x2, y1..y2 (inclusive), each pair of opposite bars cut to the
// thinner one.
func symmetricBars(w, h, x1, x2, y1, y2 int) Rect {
	lr := min(x1, w-1-x2)
	tb := min(y1, h-1-y2)
	return Rect{X: lr, Y: tb, W: w - 2*lr, H: h - 2*tb}
}

// filtered hands one sampled frame to the caller.
func (d *videoDecoder) filtered(out *astiav.Frame) error {
	cf := (*C.AVFrame)(out.UnsafePointer())
	w, h := int(C.cueprint_vwidth(cf)), int(C.cueprint_vheight(cf))
	stride := int(C.cueprint_vlinesize0(cf))
	if w <= 0 || h <= 0 || stride < w {
		return nil
	}
	fr := &d.frame
	fr.Width, fr.Height = w, h
	if cap(fr.Pix) < w*h {
		fr.Pix = make([]byte, w*h)
	}
	fr.Pix = fr.Pix[:w*h]
	src := unsafe.Slice((*byte)(unsafe.Pointer(C.cueprint_vplane0(cf))), stride*(h-1)+w)
	for y := range h {
		copy(fr.Pix[y*w:(y+1)*w], src[y*stride:y*stride+w])
	}
	fr.Active = Rect{W: w, H: h}
	var x1, x2, y1, y2 C.int
	if C.cueprint_cropdetect(cf, &x1, &x2, &y1, &y2) != 0 && x1 >= 0 && y1 >= 0 &&
		int(x2) < w && int(y2) < h && x2 >= x1 && y2 >= y1 {
		fr.Active = symmetricBars(w, h, int(x1), int(x2), int(y1), int(y2))
	}
	// The fps filter's output time base is 1/FPS: pts counts ticks. Times
	// start at the first sampled frame, as audio times start at the first
	// sample.
	tick := int64(d.info.Frames)
	if pts := int64(C.cueprint_vpts(cf)); pts != int64(C.AV_NOPTS_VALUE) {
		if d.info.Frames == 0 {
			d.firstPts = pts
		}
		tick = max(pts-d.firstPts, 0)
	}
	fr.Time = time.Duration(tick) * time.Second / time.Duration(d.opts.FPS)
	d.info.Frames++
	d.info.Decoded = fr.Time + time.Second/time.Duration(d.opts.FPS)
	if d.opts.MaxDuration > 0 && fr.Time > d.opts.MaxDuration {
		return d.fail("decode", fmt.Errorf("%w: more than %v", ErrTooLong, d.opts.MaxDuration))
	}
	if err := d.fn(fr); err != nil {
		return d.fail("consume", err)
	}
	return nil
}
