package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Encoded peak list (the forward print the index keeps per work):
//
//	uvarint  count             number of peaks
//	count x {
//	  uvarint  timeDelta       Time*timeScale minus the previous peak's (first: Time*timeScale)
//	  uint16   pitch           Pitch * pitchScale, rounded, big-endian
//	  uint8    strength        Strength * strengthScale, rounded, at most 255
//	}
//
// About 5 bytes a peak. timeScale = 16 keeps 1/16 frame (2 ms); pitchScale
// = 256 keeps 1/256 semitone (0.4 cent) and covers 256 semitones. Both are
// far below peak-picking jitter.
const (
	pitchScale    = 256
	timeScale     = 16
	strengthScale = 32
)

// ErrCorruptPeaks: an encoded peak list does not decode.
var ErrCorruptPeaks = errors.New("fingerprint: corrupt peak list")

// AppendPeaks appends the encoding of peaks (in time order) to dst.
func AppendPeaks(dst []byte, peaks []Peak) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(peaks)))
	prev := uint64(0)
	for _, pk := range peaks {
		t := uint64(math.Round(float64(max(pk.Time, 0)) * timeScale))
		if t < prev {
			t = prev // out of order: clamp rather than underflow
		}
		dst = binary.AppendUvarint(dst, t-prev)
		prev = t
		v := math.Round(float64(pk.Pitch) * pitchScale)
		v = max(0, min(math.MaxUint16, v))
		dst = binary.BigEndian.AppendUint16(dst, uint16(v))
		dst = append(dst, uint8(max(0, min(255, math.Round(float64(pk.Strength)*strengthScale)))))
	}
	return dst
}

// DecodePeaks decodes a peak list written by AppendPeaks.
func DecodePeaks(b []byte) ([]Peak, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: bad count", ErrCorruptPeaks)
	}
	b = b[k:]
	peaks := make([]Peak, 0, n)
	frame := uint64(0)
	for i := uint64(0); i < n; i++ {
		d, k := binary.Uvarint(b)
		if k <= 0 || len(b) < k+3 {
			return nil, fmt.Errorf("%w: peak %d of %d truncated", ErrCorruptPeaks, i, n)
		}
		frame += d
		if frame > math.MaxUint32 {
			return nil, fmt.Errorf("%w: time overflow at peak %d", ErrCorruptPeaks, i)
		}
		pitch := binary.BigEndian.Uint16(b[k:])
		strength := b[k+2]
		b = b[k+3:]
		peaks = append(peaks, Peak{Time: float32(frame) / timeScale, Pitch: float32(pitch) / pitchScale, Strength: float32(strength) / strengthScale})
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptPeaks, len(b))
	}
	return peaks, nil
}

// QuantizePitch rounds a pitch the way the encoding stores it, so prints
// compared before and after storage give identical hashes.
func QuantizePitch(p float32) float32 {
	return float32(math.Round(float64(p)*pitchScale)) / pitchScale
}

// QuantizeTime rounds a peak time the way the encoding stores it.
func QuantizeTime(t float32) float32 {
	return float32(math.Round(float64(t)*timeScale)) / timeScale
}

// QuantizeStrength rounds a peak strength the way the encoding stores it.
func QuantizeStrength(s float32) float32 {
	return float32(max(0, min(255, math.Round(float64(s)*strengthScale)))) / strengthScale
}
