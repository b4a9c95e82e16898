package media_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/corpus/publicset"
	"github.com/cueprint/cueprint/fingerprint/media"
)

func rssMB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v / 1024
		}
	}
	return 0
}

func heapInuseMB() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse >> 20
}

// TestNoLeak guards two leaks found by the benchmark (6 GB after 4,775
// queries): go-astiav v0.16.0 keeps every IOContext's callbacks in a
// package map forever (they pinned each upload and each encoded query),
// and FFmpeg kept every frame pushed into a graph whose trim had ended.
// Memory must stay flat over many calls.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("many decodes")
	}
	tracks, err := publicset.Default()
	if errors.Is(err, publicset.ErrNoList) {
		t.Skip("public set not installed (make deps)")
	}
	require.NoError(t, err)
	ctx := context.Background()
	path := tracks[0].Path
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	pcm := tone(10, 44100)
	calls := []struct {
		name string
		fn   func() error
	}{
		{"decode upload", func() error {
			_, err := media.DecodeAudioReader(ctx, bytes.NewReader(file), "upload", media.AudioOptions{SampleRateHz: 8000}, func([]float32) error { return nil })
			return err
		}},
		{"encode", func() error {
			_, err := media.EncodeAudio(ctx, pcm, 44100, media.Codec{Encoder: "pcm_s16le", Format: "wav"})
			return err
		}},
		{"trimmed excerpt", func() error {
			_, err := media.DecodeAudioFile(ctx, path, media.AudioOptions{SampleRateHz: 8000, Filters: "atrim=start=30:duration=10"}, func([]float32) error { return nil })
			return err
		}},
	}
	for _, c := range calls {
		require.NoError(t, c.fn(), c.name)
		heap0, rss0 := heapInuseMB(), rssMB()
		for range 150 {
			require.NoError(t, c.fn(), c.name)
		}
		heap1, rss1 := heapInuseMB(), rssMB()
		assert.Less(t, int64(heap1)-int64(heap0), int64(20), "%s: Go heap grew %d -> %d MB", c.name, heap0, heap1)
		assert.Less(t, rss1-rss0, int64(80), "%s: RSS grew %d -> %d MB", c.name, rss0, rss1)
	}
}
