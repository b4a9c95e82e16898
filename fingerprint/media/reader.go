package media

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/asticode/go-astiav"
)

// avseekSize and avseekForce are FFmpeg's AVSEEK_SIZE and AVSEEK_FORCE
// whence flags (libavformat/avio.h).
const (
	avseekSize  = 0x10000
	avseekForce = 0x20000
)

// ioHolder is what an AVIOContext's callbacks reach the caller's reader
// or buffer through. go-astiav v0.16.0 never deletes an IOContext's
// callbacks from its package-level handler map (IOContext.Free only frees
// the C handle), so whatever the callbacks capture lives for the process.
// They capture this holder, emptied by release when the decode or encode
// ends: the leaked entry then holds a few bytes, not an upload.
type ioHolder struct {
	r   io.Reader
	mem *memFile
}

func (h *ioHolder) release() { h.r, h.mem = nil, nil }

// newReaderIOContext wraps r in an AVIOContext. Reads check ctx first, so a
// cancelled upload stops inside FFmpeg's read loop too. Call the returned
// release once the context is freed.
func newReaderIOContext(ctx context.Context, r io.Reader) (*astiav.IOContext, func(), error) {
	h := &ioHolder{r: r}
	read := func(b []byte) (int, error) {
		r := h.r
		if r == nil {
			return 0, astiav.ErrEof
		}
		if ctx.Err() != nil {
			return 0, astiav.ErrExit
		}
		// Plain Read, not ReadFull: a live stream hands on what it has.
		for range 100 {
			n, err := r.Read(b)
			if n > 0 {
				return n, nil
			}
			if errors.Is(err, io.EOF) {
				return 0, astiav.ErrEof
			}
			if err != nil {
				return 0, astiav.ErrEio
			}
		}
		return 0, astiav.ErrEio // io.Reader contract: too many empty reads
	}
	var seek astiav.IOContextSeekFunc
	if _, ok := r.(io.Seeker); ok {
		seek = func(offset int64, whence int) (int64, error) {
			s, ok := h.r.(io.Seeker)
			if !ok {
				return 0, astiav.ErrEio
			}
			if whence&avseekSize != 0 {
				cur, err := s.Seek(0, io.SeekCurrent)
				if err != nil {
					return 0, astiav.ErrEio
				}
				end, err := s.Seek(0, io.SeekEnd)
				if err != nil {
					return 0, astiav.ErrEio
				}
				if _, err := s.Seek(cur, io.SeekStart); err != nil {
					return 0, astiav.ErrEio
				}
				return end, nil
			}
			n, err := s.Seek(offset, whence&^avseekForce)
			if err != nil {
				return 0, astiav.ErrEio
			}
			return n, nil
		}
	}
	ioc, err := astiav.AllocIOContext(readerBufferBytes, false, read, seek, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("media: allocate io context: %w", err)
	}
	return ioc, h.release, nil
}
