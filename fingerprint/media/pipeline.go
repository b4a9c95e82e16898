package media

import (
	"context"
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// pipeline is what the audio and the video decoders share: one input, one
// stream, its decoder, a filter graph built from the first decoded frame,
// and the loop that reads, decodes, filters and finally drains everything.
// The owner sets onFrame and consume. It is used by one goroutine only.
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
	graphKey string // the input parameters the graph was built for

	corrupt int  // packets or frames the decoder rejected
	good    int  // packets the decoder took
	sinkEOF bool // the filter graph ended (e.g. atrim): nothing more can come out

	// onFrame handles one decoded frame (usually ensureGraph, then filter).
	onFrame func(f *astiav.Frame) error
	// consume handles one frame out of the filter graph.
	consume func(f *astiav.Frame) error
}

func (d *pipeline) fail(op string, err error) error {
	return &DecodeError{Op: op, Path: d.name, Err: err}
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
func (d *pipeline) ensureGraph(f *astiav.Frame, key string, build func(*astiav.Frame) error) error {
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

func (d *pipeline) freeGraph() {
	if d.graph != nil {
		d.graph.Free() // frees the filter contexts it owns
		d.graph, d.src, d.sink = nil, nil, nil
	}
}

// filter pushes one frame (nil flushes) through the graph and hands every
// output frame to consume.
func (d *pipeline) filter(f *astiav.Frame) error {
	if d.sinkEOF {
		return nil
	}
	if err := d.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
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
