// Package hls reads HTTP Live Streaming playlists (RFC 8216): the master
// playlist's variants and a media playlist's segments, enough for the
// daemon to fetch a stream's media itself and hand the decoder one
// continuous body. FFmpeg could read HLS, but only by fetching the URLs
// itself, outside the daemon's limits on bytes, time and schemes; a
// playlist spooled to a file has no base URL to resolve its segments
// against.
//
// Segments are MPEG-TS, or fragmented MP4 after the EXT-X-MAP
// initialisation section: both decode as the concatenation of their
// bytes. Encrypted segments (EXT-X-KEY other than NONE) and byte ranges
// are refused with ErrUnsupported: they need the decoder's own HLS reader.
package hls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// ErrUnsupported marks a playlist this package does not read.
var ErrUnsupported = errors.New("hls: unsupported playlist")

// MaxPlaylistBytes bounds a playlist read: some hours of two-second
// segments fit in far less.
const MaxPlaylistBytes = 4 << 20

// Playlist is a master playlist (Variants set) or a media playlist
// (Segments set).
type Playlist struct {
	// Variants are a master playlist's streams, in the playlist's order.
	Variants []Variant
	// Segments are a media playlist's segments, in order; Map is the
	// fragmented-MP4 initialisation section that precedes them (nil for
	// MPEG-TS).
	Segments []Segment
	Map      *Segment
	// TargetDurationS is the longest a segment may be; a live playlist is
	// fetched again about this often.
	TargetDurationS float64
	// Ended is true when the playlist lists every segment it will ever
	// have (EXT-X-ENDLIST, or a VOD playlist): otherwise it is live.
	Ended bool
}

// Variant is one stream of a master playlist.
type Variant struct {
	URI       string
	Bandwidth int64
	// AudioOnly is true when the variant's codecs are all audio.
	AudioOnly bool
}

// Segment is one media segment.
type Segment struct {
	URI       string
	DurationS float64
	// Seq is the segment's media sequence number: a live playlist fetched
	// again lists new segments with higher numbers.
	Seq int64
}

// IsPlaylist reports whether a body is an HLS playlist, from its
// Content-Type or, when that says nothing useful, its first bytes.
func IsPlaylist(contentType string, prefix []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch strings.ToLower(mt) {
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl":
		return true
	}
	return bytes.HasPrefix(bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf")), []byte("#EXTM3U"))
}

// Parse reads a playlist of at most MaxPlaylistBytes.
func Parse(r io.Reader) (*Playlist, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxPlaylistBytes+1))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	p := &Playlist{}
	var (
		n         int
		size      int
		seq       int64
		pendingS  = -1.0 // the duration of the next segment (EXTINF)
		pendingBW int64
		pendingA  bool
		variant   bool // the next URI is a variant's
		vod       bool
	)
	for sc.Scan() {
		n++
		size += len(sc.Bytes()) + 1
		if size > MaxPlaylistBytes {
			return nil, fmt.Errorf("hls: playlist larger than %d bytes", MaxPlaylistBytes)
		}
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
			if line != "#EXTM3U" {
				return nil, fmt.Errorf("hls: line 1: want #EXTM3U, got %.40q", line)
			}
			continue
		}
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			switch {
			case variant:
				p.Variants = append(p.Variants, Variant{URI: line, Bandwidth: pendingBW, AudioOnly: pendingA})
				variant = false
			case pendingS >= 0:
				p.Segments = append(p.Segments, Segment{URI: line, DurationS: pendingS, Seq: seq})
				seq++
				pendingS = -1
			default:
				return nil, fmt.Errorf("hls: line %d: URI %.60q follows no #EXTINF or #EXT-X-STREAM-INF", n, line)
			}
			continue
		}
		tag, value, _ := strings.Cut(line, ":")
		switch tag {
		case "#EXTINF":
			d, _, _ := strings.Cut(value, ",")
			v, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
			if err != nil || v < 0 || v > 24*3600 {
				return nil, fmt.Errorf("hls: line %d: bad segment duration %q", n, d)
			}
			pendingS = v
		case "#EXT-X-STREAM-INF":
			attrs := parseAttrs(value)
			bw, _ := strconv.ParseInt(attrs["BANDWIDTH"], 10, 64)
			pendingBW, pendingA, variant = bw, audioOnly(attrs["CODECS"]), true
		case "#EXT-X-TARGETDURATION":
			v, err := strconv.ParseFloat(value, 64)
			if err != nil || v <= 0 || v > 24*3600 {
				return nil, fmt.Errorf("hls: line %d: bad target duration %q", n, value)
			}
			p.TargetDurationS = v
		case "#EXT-X-MEDIA-SEQUENCE":
			v, err := strconv.ParseInt(value, 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("hls: line %d: bad media sequence %q", n, value)
			}
			seq = v
		case "#EXT-X-ENDLIST":
			p.Ended = true
		case "#EXT-X-PLAYLIST-TYPE":
			vod = value == "VOD"
		case "#EXT-X-MAP":
			attrs := parseAttrs(value)
			if attrs["URI"] == "" {
				return nil, fmt.Errorf("hls: line %d: EXT-X-MAP without URI", n)
			}
			if _, ok := attrs["BYTERANGE"]; ok {
				return nil, fmt.Errorf("%w: line %d: byte-range initialisation section", ErrUnsupported, n)
			}
			p.Map = &Segment{URI: attrs["URI"]}
		case "#EXT-X-KEY":
			if m := parseAttrs(value)["METHOD"]; m != "NONE" {
				return nil, fmt.Errorf("%w: line %d: encrypted segments (METHOD=%s)", ErrUnsupported, n, m)
			}
		case "#EXT-X-BYTERANGE":
			return nil, fmt.Errorf("%w: line %d: byte-range segments", ErrUnsupported, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hls: line %d: %w", n+1, err)
	}
	if n == 0 {
		return nil, errors.New("hls: empty playlist")
	}
	if len(p.Variants) > 0 && len(p.Segments) > 0 {
		return nil, errors.New("hls: playlist has both variants and segments")
	}
	p.Ended = p.Ended || vod
	return p, nil
}

// Best returns the variant to fetch for fingerprinting: an audio-only one
// if there is one (less to download, the same sound), else the one of
// highest bandwidth (the best sound); ok is false with no variants.
func (p *Playlist) Best() (v Variant, ok bool) {
	for _, c := range p.Variants {
		better := !ok || (c.AudioOnly && !v.AudioOnly) || (c.AudioOnly == v.AudioOnly && c.Bandwidth > v.Bandwidth)
		if better {
			v, ok = c, true
		}
	}
	return v, ok
}

// parseAttrs reads an attribute list: KEY=value,KEY="quoted, value".
func parseAttrs(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.TrimSpace(k)
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				v, s = rest[1:], ""
			} else {
				v, s = rest[1:1+end], rest[2+end:]
			}
			s = strings.TrimPrefix(s, ",")
		} else {
			v, s, _ = strings.Cut(rest, ",")
		}
		out[k] = v
	}
	return out
}

// audioOnly reports whether an RFC 6381 codecs list names only audio
// codecs (AAC, MP3, AC-3, E-AC-3, Opus, FLAC).
func audioOnly(codecs string) bool {
	if codecs == "" {
		return false
	}
	for c := range strings.SplitSeq(codecs, ",") {
		c = strings.TrimSpace(c)
		audio := false
		for _, p := range []string{"mp4a", "mp3", "ac-3", "ec-3", "opus", "flac", "fLaC"} {
			if strings.HasPrefix(c, p) {
				audio = true
			}
		}
		if !audio {
			return false
		}
	}
	return true
}
