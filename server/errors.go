package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"

	"github.com/cueprint/cueprint/fingerprint"
	"github.com/cueprint/cueprint/fingerprint/media"
	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
)

// Error is an answer with a status, a stable code and a message. Handlers
// return it (or any error, which errorOf classifies).
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds, for 429 and 503
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// The stable error codes. Clients switch on these, never on messages.
const (
	codeBadRequest      = "bad_request"
	codeUnauthorized    = "unauthorized"
	codeForbidden       = "forbidden"
	codeNotFound        = "not_found"
	codeWorkNotFound    = "work_not_found"
	codeWorkExists      = "work_exists"
	codeInvalidWork     = "invalid_work"
	codeUploadTooLarge  = "upload_too_large"
	codeMediaTooLong    = "media_too_long"
	codeUnsupported     = "unsupported_media"
	codeNoAudio         = "no_audio"
	codeNoMedia         = "no_media_stream"
	codeUndecodable     = "undecodable_media"
	codeEmptyMedia      = "empty_media"
	codeTruncated       = "truncated_media"
	codeNoContent       = "no_content"
	codeMediaNotFound   = "media_not_found"
	codeURLNotAllowed   = "url_not_allowed"
	codeFetchFailed     = "fetch_failed"
	codeBusy            = "overloaded"
	codeShuttingDown    = "shutting_down"
	codeTimeout         = "timeout"
	codeCancelled       = "client_closed_request"
	codeInternal        = "internal"
	codeMethod          = "method_not_allowed"
	codeUnsupportedType = "unsupported_media_type"
	codeNoSpace         = "insufficient_storage"
	codeStreamTooLarge  = "stream_too_large"
	codeReadOnly        = "read_only"
	codeConflict        = "conflict"
)

// decodeReason maps a media error to the reason label of
// cueprint_decode_errors_total and to its API error; ok is false when err
// is not about the media.
func decodeReason(err error) (reason string, e *Error, ok bool) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return "too_large", apiErr(http.StatusRequestEntityTooLarge, codeUploadTooLarge, "upload larger than %d bytes", mbe.Limit), true
	case errors.Is(err, media.ErrTooLong):
		return "too_long", apiErr(http.StatusRequestEntityTooLarge, codeMediaTooLong, "%v", err), true
	case errors.Is(err, media.ErrNotFound):
		return "not_found", apiErr(http.StatusUnprocessableEntity, codeMediaNotFound, "%v", err), true
	case errors.Is(err, media.ErrUnsupportedMedia):
		return "unsupported", apiErr(http.StatusUnprocessableEntity, codeUnsupported, "%v", err), true
	case errors.Is(err, media.ErrNoAudio):
		return "no_audio", apiErr(http.StatusUnprocessableEntity, codeNoAudio, "%v", err), true
	case errors.Is(err, media.ErrUndecodable):
		return "undecodable", apiErr(http.StatusUnprocessableEntity, codeUndecodable, "%v", err), true
	case errors.Is(err, media.ErrEmpty):
		return "empty", apiErr(http.StatusUnprocessableEntity, codeEmptyMedia, "%v", err), true
	case errors.Is(err, errTruncated):
		return "truncated", apiErr(http.StatusUnprocessableEntity, codeTruncated, "%v", err), true
	case errors.Is(err, media.ErrNoVideo), errors.Is(err, media.ErrNoFrames):
		return "no_video", apiErr(http.StatusUnprocessableEntity, codeNoMedia, "%v", err), true
	case errors.Is(err, fingerprint.ErrNoContent), errors.Is(err, fingerprint.ErrNoVideoContent):
		return "no_content", apiErr(http.StatusUnprocessableEntity, codeNoContent, "%v", err), true
	}
	var de *media.DecodeError
	if errors.As(err, &de) {
		return "other", apiErr(http.StatusUnprocessableEntity, codeUndecodable, "%v", err), true
	}
	return "", nil, false
}

// errTruncated: a registration upload ends before its declared duration.
var errTruncated = errors.New("media: file is truncated")

// ErrorCode is the stable code the API gives err (media_not_found,
// media_too_long, undecodable_media, ...; internal for an error not
// about the request) and the message that goes with it: scans record
// their items' errors with it, on the daemon and on the command line.
func ErrorCode(err error) (code, message string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return errorOf(err).Code, err.Error()
}

// errorOf turns any error into an API error.
func errorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if _, de, ok := decodeReason(err); ok {
		return de
	}
	switch {
	case errors.Is(err, errKeyBusy):
		return &Error{Status: http.StatusTooManyRequests, Code: codeBusy, Message: err.Error() + "; retry later", RetryAfter: 1}
	case errors.Is(err, errBusy):
		return &Error{Status: http.StatusTooManyRequests, Code: codeBusy, Message: "server at capacity; retry later", RetryAfter: 1}
	case errors.Is(err, errShuttingDown):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeShuttingDown, Message: "server shutting down", RetryAfter: 5}
	case errors.Is(err, index.ErrInsufficientStorage), errors.Is(err, syscall.ENOSPC):
		// Matching goes on; writes wait for space. A client may retry
		// later, so say when to look again.
		// The message names no path: the store's place is the operator's.
		return &Error{Status: http.StatusInsufficientStorage, Code: codeNoSpace, RetryAfter: 60,
			Message: "the server's disk is at its free-space reserve: registrations and deletions are refused until space is freed (matching goes on)"}
	case errors.Is(err, index.ErrReadOnly):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeReadOnly, Message: "the store is open read-only: registrations and deletions are refused"}
	case errors.Is(err, index.ErrNotFound):
		return apiErr(http.StatusNotFound, codeWorkNotFound, "%v", err)
	case errors.Is(err, index.ErrExists):
		return apiErr(http.StatusConflict, codeWorkExists, "%v: PUT /v1/works/{id}, or ?replace=true, replaces it", err)
	case errors.Is(err, index.ErrInvalidWork):
		return apiErr(http.StatusBadRequest, codeInvalidWork, "%v", err)
	case errors.Is(err, auth.ErrNotFound):
		return apiErr(http.StatusNotFound, codeNotFound, "%v", err)
	case errors.Is(err, auth.ErrInvalid):
		return apiErr(http.StatusBadRequest, codeBadRequest, "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return apiErr(http.StatusGatewayTimeout, codeTimeout, "request took longer than allowed")
	case errors.Is(err, context.Canceled):
		// The client went away (or the server is stopping); the status is
		// for logs and metrics, nobody reads the body.
		return apiErr(499, codeCancelled, "request cancelled")
	}
	return apiErr(http.StatusInternalServerError, codeInternal, "internal error")
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}

// writeError writes e as the JSON error body.
func writeError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cueprint"`)
	}
	writeJSON(w, e.Status, api.ErrorResponse{Error: api.Error{Code: e.Code, Message: e.Message}})
}
