package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
)

// spoolMemoryBytes is how much of an upload is kept in memory before the
// rest goes to a temporary file. Uploads are spooled so that FFmpeg can
// seek (an MP4 whose index is at its end cannot be decoded front to back)
// and so that a slow client holds no worker slot and no admission ticket:
// a request is admitted only once its body is in.
const spoolMemoryBytes = 8 << 20

// spoolMemoryTotal bounds the memory all uploads being spooled may hold at
// once; an upload that finds no room goes straight to a temporary file.
// With Config.MaxUploads at its default of 256, 8 MiB each could be 2 GiB.
const spoolMemoryTotal = 256 << 20

// memBudget is a shared allowance of bytes.
type memBudget struct{ used atomic.Int64 }

// take reserves n bytes, or reports false when they would exceed the
// budget.
func (b *memBudget) take(n int64) bool {
	if b.used.Add(n) > spoolMemoryTotal {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *memBudget) give(n int64) { b.used.Add(-n) }

// spooled is an upload held for decoding.
type spooled struct {
	name string
	// captured: the source was a stream read for a while, not to its end.
	captured bool
	size     int64
	r        io.ReadSeeker
	f        *os.File // nil when in memory
	budget   *memBudget
	held     int64 // bytes of budget held
}

// spool reads r whole, up to limit bytes (more is an *http.MaxBytesError),
// in memory while budget allows (nil: no memory limit but
// spoolMemoryBytes), then in an unlinked temporary file.
func spool(r io.Reader, name string, limit int64, budget *memBudget) (_ *spooled, err error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	sp := &spooled{name: name, budget: budget}
	defer func() {
		if err != nil {
			sp.Close()
		}
	}()
	memory := min(int64(spoolMemoryBytes), limit+1)
	if budget != nil && !budget.take(memory) {
		memory = 0
	} else if budget != nil {
		sp.held = memory
	}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, lr, memory)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if memory > 0 && (errors.Is(err, io.EOF) || n < memory) {
		// Whole in memory: keep only what it holds of the budget.
		if sp.budget != nil {
			sp.budget.give(sp.held - n)
			sp.held = n
		}
		sp.size, sp.r = n, bytes.NewReader(buf.Bytes())
		return sp, nil
	}
	f, err := os.CreateTemp("", "cueprint-upload-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	sp.f, sp.r = f, f
	if _, err := f.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if sp.budget != nil { // the memory part is in the file now
		sp.budget.give(sp.held)
		sp.held = 0
	}
	m, err := io.Copy(f, lr)
	if err != nil {
		return nil, err
	}
	sp.size = n + m
	if sp.size > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return sp, nil
}

// Close releases the spooled data. It is safe to call twice.
func (sp *spooled) Close() {
	if sp.f != nil {
		sp.f.Close()
		sp.f = nil
	}
	if sp.budget != nil && sp.held > 0 {
		sp.budget.give(sp.held)
		sp.held = 0
	}
}

// uploadErr classifies an error reading the request body, directly or
// through the decoder. Errors that already say what went wrong (API
// errors, media errors, an oversize body, a full disk) pass through.
func uploadErr(err error) error {
	var e *Error
	var ne interface{ Timeout() bool }
	if _, _, media := decodeReason(err); media || errors.As(err, &e) || errors.Is(err, syscall.ENOSPC) {
		return err
	}
	switch {
	case errors.Is(err, errUploadTooSlow):
		return apiErr(http.StatusRequestTimeout, "upload_stalled", "%v", err)
	case errors.As(err, &ne) && ne.Timeout():
		return apiErr(http.StatusRequestTimeout, "upload_stalled", "upload stalled: no data received in time")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return apiErr(http.StatusBadRequest, codeBadRequest, "reading the upload: %v", err)
}
