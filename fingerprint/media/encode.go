package media

/*
#include <libavutil/frame.h>
#include <string.h>

static void cueprint_fill_flt(AVFrame *f, const float *src, int n) { memcpy(f->data[0], src, (size_t)n * sizeof(float)); }
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// Codec names a lossy encoding for EncodeAudio.
type Codec struct {
	// Encoder is FFmpeg's encoder name: "libmp3lame", "aac", "libopus",
	// "libvorbis", "pcm_s16le".
	Encoder string
	// Format is the container: "mp3", "adts", "ogg", "wav", "ipod" (m4a).
	Format string
	// BitRate in bits per second; 0 leaves the encoder's default.
	BitRate int64
	// SampleRateHz of the encoded stream; 0 keeps the input rate (Opus
	// always uses 48000).
	SampleRateHz int
}

// encodeChunkSamples is how many input samples go into one source frame.
const encodeChunkSamples = 4096

// EncodeAudio encodes mono PCM at rateHz into a complete media file in
// memory. It exists to render degraded queries (low bit-rate MP3, AAC,
// Opus) in process for tests and the benchmark.
func EncodeAudio(ctx context.Context, samples []float32, rateHz int, c Codec) (out []byte, err error) {
	if rateHz < 1000 || len(samples) == 0 {
		return nil, fmt.Errorf("media: encode %s: %d samples at %d Hz", c.Encoder, len(samples), rateHz)
	}
	var cl closer
	defer func() { err = errors.Join(err, cl.Close()) }()
	fail := func(op string, e error) error {
		return fmt.Errorf("media: encode %s/%s: %s: %w", c.Encoder, c.Format, op, e)
	}

	codec := astiav.FindEncoderByName(c.Encoder)
	if codec == nil {
		return nil, fail("find encoder", errors.New("not in this FFmpeg"))
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, fail("alloc", errors.New("codec context"))
	}
	cl.add(cc.Free)
	outRate := rateHz
	if c.SampleRateHz > 0 {
		outRate = c.SampleRateHz
	}
	if c.Encoder == "libopus" {
		outRate = 48000
	}
	sf := astiav.SampleFormatFlt
	if fmts := codec.SampleFormats(); len(fmts) > 0 {
		sf = fmts[0]
	}
	cc.SetSampleFormat(sf)
	cc.SetSampleRate(outRate)
	cc.SetChannelLayout(astiav.ChannelLayoutMono)
	cc.SetTimeBase(astiav.NewRational(1, outRate))
	if c.BitRate > 0 {
		cc.SetBitRate(c.BitRate)
	}

	fc, err := astiav.AllocOutputFormatContext(nil, c.Format, "")
	if err != nil || fc == nil {
		return nil, fail("output format", fmt.Errorf("%q: %v", c.Format, err))
	}
	cl.add(fc.Free)
	if fc.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader) {
		cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	if err := cc.Open(codec, nil); err != nil {
		return nil, fail("open encoder", err)
	}
	st := fc.NewStream(nil)
	if st == nil {
		return nil, fail("new stream", errors.New("nil"))
	}
	if err := st.CodecParameters().FromCodecContext(cc); err != nil {
		return nil, fail("stream parameters", err)
	}
	st.SetTimeBase(cc.TimeBase())

	buf := &memFile{}
	h := &ioHolder{mem: buf} // see ioHolder: the callbacks must not pin buf
	write := func(p []byte) (int, error) {
		if h.mem == nil {
			return 0, astiav.ErrEio
		}
		return h.mem.write(p)
	}
	seek := func(offset int64, whence int) (int64, error) {
		if h.mem == nil {
			return 0, astiav.ErrEio
		}
		return h.mem.seek(offset, whence)
	}
	ioc, err := astiav.AllocIOContext(readerBufferBytes, true, nil, seek, write)
	if err != nil {
		return nil, fail("io context", err)
	}
	cl.add(h.release)
	cl.add(ioc.Free)
	fc.SetPb(ioc)
	if err := fc.WriteHeader(nil); err != nil {
		return nil, fail("write header", err)
	}

	// Filter graph: flt mono at rateHz -> encoder's rate, format, frame size.
	g := astiav.AllocFilterGraph()
	if g == nil {
		return nil, fail("alloc", errors.New("filter graph"))
	}
	cl.add(g.Free)
	src, err := g.NewFilterContext(astiav.FindFilterByName("abuffer"), "in", astiav.FilterArgs{
		"channel_layout": "mono", "sample_fmt": "flt", "sample_rate": strconv.Itoa(rateHz), "time_base": "1/" + strconv.Itoa(rateHz),
	})
	if err != nil {
		return nil, fail("abuffer", err)
	}
	sink, err := g.NewFilterContext(astiav.FindFilterByName("abuffersink"), "out", nil)
	if err != nil {
		return nil, fail("abuffersink", err)
	}
	spec := fmt.Sprintf("aresample=%d,aformat=sample_fmts=%s:channel_layouts=mono", outRate, sf.Name())
	if fs := cc.FrameSize(); fs > 0 {
		spec += fmt.Sprintf(",asetnsamples=n=%d:p=1", fs)
	}
	if err := parseGraph(g, spec, src, sink); err != nil {
		return nil, fail("filter graph", err)
	}

	in := astiav.AllocFrame()
	cl.add(in.Free)
	filtered := astiav.AllocFrame()
	cl.add(filtered.Free)
	pkt := astiav.AllocPacket()
	cl.add(pkt.Free)

	writePackets := func() error {
		for {
			err := cc.ReceivePacket(pkt)
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if err != nil {
				return err
			}
			pkt.SetStreamIndex(st.Index())
			pkt.RescaleTs(cc.TimeBase(), st.TimeBase())
			err = fc.WriteInterleavedFrame(pkt)
			pkt.Unref()
			if err != nil {
				return err
			}
		}
	}
	drainGraph := func() error {
		for {
			err := sink.BuffersinkGetFrame(filtered, astiav.NewBuffersinkFlags())
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if err != nil {
				return err
			}
			err = cc.SendFrame(filtered)
			filtered.Unref()
			if err != nil {
				return err
			}
			if err := writePackets(); err != nil {
				return err
			}
		}
	}
	for off := 0; off < len(samples); off += encodeChunkSamples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(encodeChunkSamples, len(samples)-off)
		in.SetNbSamples(n)
		in.SetSampleFormat(astiav.SampleFormatFlt)
		in.SetChannelLayout(astiav.ChannelLayoutMono)
		in.SetSampleRate(rateHz)
		in.SetPts(int64(off))
		if err := in.AllocBuffer(0); err != nil {
			return nil, fail("frame buffer", err)
		}
		C.cueprint_fill_flt((*C.AVFrame)(in.UnsafePointer()), (*C.float)(unsafe.Pointer(&samples[off])), C.int(n))
		err := src.BuffersrcAddFrame(in, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef))
		in.Unref()
		if err != nil {
			return nil, fail("filter", err)
		}
		if err := drainGraph(); err != nil {
			return nil, fail("encode", err)
		}
	}
	if err := src.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
		return nil, fail("flush filter", err)
	}
	if err := drainGraph(); err != nil {
		return nil, fail("encode", err)
	}
	if err := cc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return nil, fail("flush encoder", err)
	}
	if err := writePackets(); err != nil {
		return nil, fail("encode", err)
	}
	if err := fc.WriteTrailer(); err != nil {
		return nil, fail("write trailer", err)
	}
	return buf.b, nil
}

// parseGraph links src -> spec -> sink and configures the graph.
func parseGraph(g *astiav.FilterGraph, spec string, src, sink *astiav.FilterContext) error {
	outputs := astiav.AllocFilterInOut()
	if outputs == nil {
		return errors.New("media: cannot allocate filter outputs")
	}
	defer outputs.Free()
	inputs := astiav.AllocFilterInOut()
	if inputs == nil {
		return errors.New("media: cannot allocate filter inputs")
	}
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(sink)
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	if err := g.Parse(spec, inputs, outputs); err != nil {
		return fmt.Errorf("parse %q: %w", spec, err)
	}
	if err := g.Configure(); err != nil {
		return fmt.Errorf("configure %q: %w", spec, err)
	}
	return nil
}

// memFile is a seekable in-memory file for muxers that rewrite headers.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) write(p []byte) (int, error) {
	end := m.pos + int64(len(p))
	if end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.pos:], p)
	m.pos = end
	return len(p), nil
}

func (m *memFile) seek(offset int64, whence int) (int64, error) {
	if whence&avseekSize != 0 {
		return int64(len(m.b)), nil
	}
	var abs int64
	switch whence &^ avseekForce {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = m.pos + offset
	case io.SeekEnd:
		abs = int64(len(m.b)) + offset
	default:
		return 0, errEinval
	}
	if abs < 0 {
		return 0, astiav.ErrEio
	}
	m.pos = abs
	return abs, nil
}
