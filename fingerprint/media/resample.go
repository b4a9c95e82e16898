package media

/*
#cgo pkg-config: libavutil libswresample
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

// cueprint_swr_open allocates and initialises a resampler from the
// parameters of frame f to packed float mono at out_rate. A layout of
// unspecified order (some WAV files) gets the default layout of its
// channel count, as abuffer does for "Nc".
static int cueprint_swr_open(SwrContext **out, const AVFrame *f, int out_rate, int filter_size) {
	AVChannelLayout in_layout = {0};
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	SwrContext *s = NULL;
	int ret;
	if (f->ch_layout.order == AV_CHANNEL_ORDER_NATIVE || f->ch_layout.order == AV_CHANNEL_ORDER_AMBISONIC)
		ret = av_channel_layout_copy(&in_layout, &f->ch_layout);
	else {
		av_channel_layout_default(&in_layout, f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 1);
		ret = 0;
	}
	if (ret < 0)
		return ret;
	ret = swr_alloc_set_opts2(&s, &mono, AV_SAMPLE_FMT_FLT, out_rate, &in_layout, f->format, f->sample_rate, 0, NULL);
	av_channel_layout_uninit(&in_layout);
	if (ret < 0)
		return ret;
	if ((ret = av_opt_set_int(s, "filter_size", filter_size, 0)) < 0 || (ret = swr_init(s)) < 0) {
		swr_free(&s);
		return ret;
	}
	*out = s;
	return 0;
}

// cueprint_swr_max_out is an upper bound of the samples a call with
// in_samples input samples (0: a flush) may write.
static int cueprint_swr_max_out(SwrContext *s, int in_samples) {
	return swr_get_out_samples(s, in_samples);
}

// cueprint_swr_convert converts frame f (NULL flushes) into out, which
// holds cap samples, and returns how many it wrote or an AVERROR.
static int cueprint_swr_convert(SwrContext *s, float *out, int cap, const AVFrame *f) {
	uint8_t *planes[1] = {(uint8_t *)out};
	if (!f)
		return swr_convert(s, planes, cap, NULL, 0);
	return swr_convert(s, planes, cap, (const uint8_t **)f->extended_data, f->nb_samples);
}

static void cueprint_swr_free(SwrContext *s) { swr_free(&s); }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// resampleFilterSize is libswresample's filter_size (taps per phase, per
// side) for the analysis rate: a short filter is enough because the band
// the fingerprint analyses ends well below the new Nyquist frequency.
// It is the value the filter graph's aresample has always been given, so
// both paths hand over the same samples.
const resampleFilterSize = 8

// resampler converts, down-mixes and resamples decoded frames to packed
// float mono with libswresample called directly: the same code, with the
// same options, that an aresample filter runs, without a filter graph
// around it. In FFmpeg 5.1 every frame through a graph costs buffer
// allocations and the formatting of each link's channel layout for a
// trace log; that overhead was about a fifth of fingerprinting time. The
// graph is still used when the caller asks for extra filters.
// A resampler is used by one goroutine only.
type resampler struct {
	swr *C.SwrContext
	out []float32
}

// open (re)initialises the resampler for frames like f.
func (r *resampler) open(f *astiav.Frame, outRate int) error {
	r.free()
	cf := (*C.AVFrame)(f.UnsafePointer())
	if ret := C.cueprint_swr_open(&r.swr, cf, C.int(outRate), C.int(resampleFilterSize)); ret < 0 {
		r.swr = nil
		return fmt.Errorf("libswresample: %w", astiav.Error(int(ret)))
	}
	return nil
}

// convert resamples f (nil flushes what the resampler still holds) and
// returns the output samples, valid until the next call.
func (r *resampler) convert(f *astiav.Frame) ([]float32, error) {
	var cf *C.AVFrame
	in := 0
	if f != nil {
		cf = (*C.AVFrame)(f.UnsafePointer())
		in = f.NbSamples()
	}
	n := int(C.cueprint_swr_max_out(r.swr, C.int(in)))
	if n < 0 {
		return nil, fmt.Errorf("libswresample: %w", astiav.Error(n))
	}
	if n == 0 {
		return nil, nil
	}
	if cap(r.out) < n {
		r.out = make([]float32, n)
	}
	got := C.cueprint_swr_convert(r.swr, (*C.float)(unsafe.Pointer(&r.out[:n][0])), C.int(n), cf)
	if got < 0 {
		return nil, fmt.Errorf("libswresample: %w", astiav.Error(int(got)))
	}
	return r.out[:got], nil
}

// free releases the resampler; it may be opened again.
func (r *resampler) free() {
	if r.swr != nil {
		C.cueprint_swr_free(r.swr)
		r.swr = nil
	}
}
