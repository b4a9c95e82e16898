package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/asticode/go-astiav"
)

// pipeline is what the audio and the video decoders share: one input, one
// stream, its decoder, a filter graph built from the first decoded frame
// (audio without extra filters uses libswresample directly instead, see
// resampler), and the loop that reads, decodes, filters and finally drains
// everything. The owner sets onFrame and consume, and drained when it
// holds frames outside the graph. It is used by one goroutine only.
type pipeline struct {
	name   string
	closer closer

	fc       *astiav.FormatContext
	stream   *astiav.Stream
	cc       *astiav.CodecContext
	pkt      *astiav.Packet
	decFrame *astiav.Frame
	outFrame *astiav.Frame

	graph    *astiav.FilterGraph
	src      *astiav.FilterContext
	sink     *astiav.FilterContext
	graphKey graphKey // the input parameters the graph was built for

	corrupt int  // packets or frames the decoder rejected
	good    int  // packets the decoder took
	sinkEOF bool // the filter graph ended (e.g. atrim): nothing more can come out

	// onFrame handles one decoded frame (usually ensureGraph, then filter).
	onFrame func(f *astiav.Frame) error
	// consume handles one frame out of the filter graph.
	consume func(f *astiav.Frame) error
	// drained, when set, runs once the decoder is drained at the end of
	// the input (the owner flushes what it holds outside the graph).
	drained func() error
	// beforeSend, when set, sees each packet of the stream before the
	// decoder does.
	beforeSend func(pkt *astiav.Packet)
}

func (d *pipeline) fail(op string, err error) error {
	return &DecodeError{Op: op, Path: d.name, Err: err}
}

// openStream opens and probes the input (url, or r when not nil) and
// selects the first stream of type mt that FFmpeg can decode; missing is
// the error when there is no such stream at all, kind names the streams
// in the other error. It returns the stream's decoder and what the
// container says (its format; its duration, or else the stream's).
func (d *pipeline) openStream(ctx context.Context, url string, r io.Reader, mt astiav.MediaType, kind string, missing error) (*astiav.Codec, inputInfo, error) {
	fc, in, err := openInput(ctx, &d.closer, url, r)
	if err != nil {
		return nil, in, d.fail(in.op, err)
	}
	d.fc = fc
	var codec *astiav.Codec
	var found int
	for _, s := range d.fc.Streams() {
		cp := s.CodecParameters()
		if cp.MediaType() != mt {
			continue
		}
		found++
		if c := astiav.FindDecoder(cp.CodecID()); c != nil {
			d.stream, codec = s, c
			break
		}
	}
	switch {
	case found == 0:
		return nil, in, d.fail("select stream", missing)
	case d.stream == nil:
		return nil, in, d.fail("select stream", fmt.Errorf("%w: no decoder for any of %d %s streams", ErrUndecodable, found, kind))
	}
	if sd := d.stream.Duration(); sd > 0 && in.declared == 0 {
		in.declared = time.Duration(float64(sd) * d.stream.TimeBase().Float64() * float64(time.Second))
	}
	return codec, in, nil
}

// decode drives one decode: open (the owner's, which calls openStream and
// openCodec), the packet loop, then finish; every FFmpeg object is freed
// on the way out, and corrupt receives the count of rejected packets.
func (d *pipeline) decode(ctx context.Context, open func() error, finish func() error, corrupt *int) (err error) {
	defer func() {
		if cerr := d.closer.Close(); cerr != nil && err == nil {
			err = &DecodeError{Op: "close", Path: d.name, Err: cerr}
		}
	}()
	if err := ctx.Err(); err != nil {
		return d.fail("open", err)
	}
	if err := open(); err != nil {
		return err
	}
	err = d.run(ctx)
	*corrupt = d.corrupt
	if err != nil {
		return err
	}
	return finish()
}

// truncated reports a decode that stopped well short of the declared
// duration without the filter graph having ended it (a cut file).
func (d *pipeline) truncated(decoded, declared time.Duration) bool {
	return !d.sinkEOF && declared > 0 && declared-decoded > time.Second && decoded < declared*9/10
}

// openCodec opens the decoder of d.stream with options (may be nil) and
// allocates the packet and frames the loop reuses.
func (d *pipeline) openCodec(codec *astiav.Codec, options *astiav.Dictionary) error {
	if d.cc = astiav.AllocCodecContext(codec); d.cc == nil {
		return d.fail("open decoder", errors.New("media: cannot allocate codec context"))
	}
	d.closer.add(d.cc.Free)
	if err := d.stream.CodecParameters().ToCodecContext(d.cc); err != nil {
		return d.fail("open decoder", fmt.Errorf("%w: %w", ErrUndecodable, err))
	}
	// One decoder thread: cueprint parallelises across inputs, not within one.
	d.cc.SetThreadCount(1)
	if err := d.cc.Open(codec, options); err != nil {
		return d.fail("open decoder", fmt.Errorf("%w: %s: %w", ErrUndecodable, codec.Name(), err))
	}
	if d.pkt = astiav.AllocPacket(); d.pkt == nil {
		return d.fail("open", errors.New("media: cannot allocate packet"))
	}
	d.closer.add(d.pkt.Free)
	if d.decFrame = astiav.AllocFrame(); d.decFrame == nil {
		return d.fail("open", errors.New("media: cannot allocate frame"))
	}
	d.closer.add(d.decFrame.Free)
	if d.outFrame = astiav.AllocFrame(); d.outFrame == nil {
		return d.fail("open", errors.New("media: cannot allocate frame"))
	}
	d.closer.add(d.outFrame.Free)
	// The graph is built lazily from the first decoded frame, whose
	// parameters are the truth (the codec context may still be guessing).
	d.closer.add(d.freeGraph)
	return nil
}

// run is the packet loop: read, decode, filter, then drain everything.
func (d *pipeline) run(ctx context.Context) error {
	for n := 0; ; n++ {
		if n%checkContextEveryNPackets == 0 {
			if err := ctx.Err(); err != nil {
				return d.fail("read", err)
			}
		}
		done, err := d.readPacket(ctx)
		if err != nil {
			return err
		}
		if done || d.sinkEOF {
			// At the end of the input, or when the graph has ended (a trim
			// filter closed): reading on would only queue frames that can
			// never come out (FFmpeg keeps them until the graph is freed).
			break
		}
	}
	if d.sinkEOF {
		return nil
	}
	// Drain the decoder, then flush the filter graph.
	if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return d.fail("drain decoder", err)
	}
	if err := d.receiveFrames(); err != nil {
		return err
	}
	if d.drained != nil {
		if err := d.drained(); err != nil {
			return err
		}
	}
	if d.graph != nil {
		return d.filter(nil)
	}
	return nil
}

// checkCorrupt reports a stream that produced nothing (empty when no
// packet was rejected either) or mostly corrupt packets.
func (d *pipeline) checkCorrupt(produced bool, empty error) error {
	if !produced {
		if d.corrupt > 0 {
			return d.fail("decode", fmt.Errorf("%w: all %d packets corrupt", ErrUndecodable, d.corrupt))
		}
		return d.fail("decode", empty)
	}
	if d.corrupt > 10 && d.corrupt > d.good {
		return d.fail("decode", fmt.Errorf("%w: %d of %d packets corrupt", ErrUndecodable, d.corrupt, d.corrupt+d.good))
	}
	return nil
}

// readPacket reads and decodes one packet; done is true at end of input.
func (d *pipeline) readPacket(ctx context.Context) (done bool, err error) {
	defer d.pkt.Unref()
	if err := d.fc.ReadFrame(d.pkt); err != nil {
		if errors.Is(err, astiav.ErrEof) {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, d.fail("read", ctx.Err())
		}
		if errors.Is(err, astiav.ErrEio) || errors.Is(err, astiav.ErrInvaliddata) {
			// A read error mid-file (cut or damaged): decode what we have.
			return true, nil
		}
		return false, d.fail("read", err)
	}
	if d.pkt.StreamIndex() != d.stream.Index() {
		return false, nil
	}
	if d.beforeSend != nil {
		d.beforeSend(d.pkt)
	}
	if err := d.cc.SendPacket(d.pkt); err != nil {
		if errors.Is(err, astiav.ErrInvaliddata) || errors.Is(err, errEinval) {
			d.corrupt++
			return false, nil
		}
		if !errors.Is(err, astiav.ErrEagain) {
			return false, d.fail("decode", err)
		}
	}
	d.good++
	return false, d.receiveFrames()
}

func (d *pipeline) receiveFrames() error {
	for {
		err := d.receiveFrame()
		if errors.Is(err, astiav.ErrEof) || errors.Is(err, astiav.ErrEagain) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *pipeline) receiveFrame() error {
	defer d.decFrame.Unref()
	if err := d.cc.ReceiveFrame(d.decFrame); err != nil {
		if errors.Is(err, astiav.ErrEof) || errors.Is(err, astiav.ErrEagain) {
			return err
		}
		if errors.Is(err, astiav.ErrInvaliddata) {
			d.corrupt++
			return nil
		}
		return d.fail("decode", err)
	}
	return d.onFrame(d.decFrame)
}

// ensureGraph builds the filter graph for frames of parameters key (with
// build), unless the current one was built for them. When the stream
// changes parameters mid-way, what the old graph holds is flushed first.
func (d *pipeline) ensureGraph(f *astiav.Frame, key graphKey, build func(*astiav.Frame) error) error {
	if d.graph != nil && key == d.graphKey {
		return nil
	}
	if d.graph != nil {
		if err := d.filter(nil); err != nil {
			return err
		}
		d.freeGraph()
	}
	if err := build(f); err != nil {
		return d.fail("build filter graph", err)
	}
	d.graphKey = key
	return nil
}

// graphKey holds the input parameters a filter graph was built for
// (sample rate, format and channel layout; or size, pixel format and
// aspect ratio): comparing it costs nothing per frame.
type graphKey [5]int64

func (d *pipeline) freeGraph() {
	if d.graph != nil {
		d.graph.Free() // frees the filter contexts it owns
		d.graph, d.src, d.sink = nil, nil, nil
	}
}

// filter pushes one frame (nil flushes) through the graph and hands every
// output frame to consume. The graph takes f's buffers (f is left blank):
// no new reference is made per frame.
func (d *pipeline) filter(f *astiav.Frame) error {
	if d.sinkEOF {
		return nil
	}
	if err := d.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags()); err != nil {
		if errors.Is(err, astiav.ErrEof) {
			d.sinkEOF = true
			return nil
		}
		return d.fail("filter", err)
	}
	for {
		err := d.pullFrame()
		if errors.Is(err, astiav.ErrEof) {
			if f != nil {
				d.sinkEOF = true
			}
			return nil
		}
		if errors.Is(err, astiav.ErrEagain) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *pipeline) pullFrame() error {
	defer d.outFrame.Unref()
	if err := d.sink.BuffersinkGetFrame(d.outFrame, astiav.NewBuffersinkFlags()); err != nil {
		if errors.Is(err, astiav.ErrEof) || errors.Is(err, astiav.ErrEagain) {
			return err
		}
		return d.fail("filter", err)
	}
	return d.consume(d.outFrame)
}
