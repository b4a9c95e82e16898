package hls

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *Playlist
		err      string
		unsup    bool
	}{
		{name: "vod media", in: "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:6.01,\nseg000.ts\n#EXTINF:5.99,\nseg001.ts\n#EXT-X-ENDLIST\n",
			want: &Playlist{TargetDurationS: 6, Ended: true, Segments: []Segment{{URI: "seg000.ts", DurationS: 6.01, Seq: 0}, {URI: "seg001.ts", DurationS: 5.99, Seq: 1}}}},
		{name: "live window", in: "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MEDIA-SEQUENCE:1041\r\n#EXTINF:4.000,title\r\nhttps://cdn.example/a/1041.ts\r\n#EXTINF:4.000,\r\nhttps://cdn.example/a/1042.ts\r\n",
			want: &Playlist{TargetDurationS: 4, Segments: []Segment{{URI: "https://cdn.example/a/1041.ts", DurationS: 4, Seq: 1041}, {URI: "https://cdn.example/a/1042.ts", DurationS: 4, Seq: 1042}}}},
		{name: "fmp4", in: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nf1.m4s\n#EXT-X-ENDLIST\n",
			want: &Playlist{TargetDurationS: 2, Ended: true, Map: &Segment{URI: "init.mp4"}, Segments: []Segment{{URI: "f1.m4s", DurationS: 2}}}},
		{name: "master", in: "\ufeff#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=640x360\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\naudio/index.m3u8\n",
			want: &Playlist{Variants: []Variant{{URI: "low/index.m3u8", Bandwidth: 800000}, {URI: "audio/index.m3u8", Bandwidth: 64000, AudioOnly: true}}}},
		{name: "not a playlist", in: "ID3\x03\x00garbage", err: "want #EXTM3U"},
		{name: "empty", in: "", err: "empty playlist"},
		{name: "uri without extinf", in: "#EXTM3U\nseg.ts\n", err: "follows no #EXTINF"},
		{name: "bad duration", in: "#EXTM3U\n#EXTINF:abc,\nseg.ts\n", err: "bad segment duration"},
		{name: "negative sequence", in: "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-4\n", err: "bad media sequence"},
		{name: "encrypted", in: "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:2,\na.ts\n", unsup: true},
		{name: "byte range", in: "#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:1000@0\na.ts\n", unsup: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.in))
			switch {
			case tc.unsup:
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrUnsupported), "%v", err)
			case tc.err != "":
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestBestVariant(t *testing.T) {
	p := &Playlist{Variants: []Variant{{URI: "a", Bandwidth: 100}, {URI: "b", Bandwidth: 900}, {URI: "c", Bandwidth: 50}}}
	v, ok := p.Best()
	require.True(t, ok)
	assert.Equal(t, "b", v.URI, "the best sound")
	p.Variants = append(p.Variants, Variant{URI: "audio", Bandwidth: 64, AudioOnly: true})
	v, _ = p.Best()
	assert.Equal(t, "audio", v.URI, "audio only: less to fetch, the same sound")
	_, ok = (&Playlist{}).Best()
	assert.False(t, ok)
}

func TestIsPlaylist(t *testing.T) {
	assert.True(t, IsPlaylist("application/vnd.apple.mpegurl", nil))
	assert.True(t, IsPlaylist("application/x-mpegURL; charset=utf-8", nil))
	assert.True(t, IsPlaylist("text/plain", []byte("#EXTM3U\n")))
	assert.True(t, IsPlaylist("", []byte("\xef\xbb\xbf#EXTM3U\n")))
	assert.False(t, IsPlaylist("audio/mpeg", []byte("ID3")))
}

// FuzzParse: any input is parsed or refused, never a panic, and what is
// parsed is consistent.
func FuzzParse(f *testing.F) {
	f.Add("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n#EXT-X-ENDLIST\n")
	f.Add("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\nx.m3u8\n")
	f.Add("#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",BYTERANGE=\"1@0\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(p.Variants) > 0 && len(p.Segments) > 0 {
			t.Fatal("variants and segments both")
		}
		for i := 1; i < len(p.Segments); i++ {
			if p.Segments[i].Seq != p.Segments[i-1].Seq+1 {
				t.Fatalf("sequence numbers not consecutive: %+v", p.Segments)
			}
		}
	})
}
