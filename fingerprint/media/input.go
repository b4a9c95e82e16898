package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/asticode/go-astiav"
)

// inputInfo is what openInput learnt about the container; op names the
// step that failed, for the caller's DecodeError.
type inputInfo struct {
	op       string
	format   string
	declared time.Duration
}

// openInput opens and probes url (or r, through a custom AVIOContext,
// when r is not nil), with FFmpeg's interrupt callback tied to ctx. Every
// resource is added to c, the caller's LIFO closer.
func openInput(ctx context.Context, c *closer, url string, r io.Reader) (*astiav.FormatContext, inputInfo, error) {
	in := inputInfo{op: "open"}
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, in, errors.New("media: cannot allocate format context")
	}
	c.add(fc.Free)

	ii := fc.SetInterruptCallback()
	stop := context.AfterFunc(ctx, ii.Interrupt)
	c.add(func() { stop() })

	if r != nil {
		ioc, release, err := newReaderIOContext(ctx, r)
		if err != nil {
			return nil, in, err
		}
		// Custom I/O is not freed by avformat_close_input: free it after.
		c.add(release)
		c.add(ioc.Free)
		fc.SetPb(ioc)
	}
	if err := fc.OpenInput(url, nil, nil); err != nil {
		if ctx.Err() != nil {
			return nil, in, ctx.Err()
		}
		return nil, in, classifyOpenError(err)
	}
	c.add(fc.CloseInput)
	if err := fc.FindStreamInfo(nil); err != nil {
		in.op = "probe"
		if ctx.Err() != nil {
			return nil, in, ctx.Err()
		}
		return nil, in, fmt.Errorf("%w: %w", ErrUnsupportedMedia, err)
	}
	if f := fc.InputFormat(); f != nil {
		in.format = f.Name()
	}
	if du := fc.Duration(); du > 0 {
		in.declared = time.Duration(du) * time.Microsecond
	}
	return fc, in, nil
}
