// Package media decodes audio from anything FFmpeg can read and hands it on
// as plain Go values: mono float32 PCM at a fixed sample rate.
//
// It is the only package of cueprint that imports go-astiav (and so the only
// cgo package). FFmpeg timestamps, time bases and *astiav values never leave
// it; callers see []float32 samples and time.Duration.
//
// # Pipeline
//
//	input (path or io.Reader through a custom AVIOContext)
//	  -> demuxer (avformat) -> best audio stream
//	  -> decoder (avcodec; corrupt packets are skipped and counted)
//	  -> libswresample: convert and down-mix to mono, then resample to R
//	     (with extra filters: a filter graph abuffer -> filters ->
//	     aformat=fltp:mono -> aresample=R -> abuffersink accepting packed
//	     float mono only)
//	  -> callback with chunks of []float32
//
// Resampling and down-mixing are FFmpeg's, never re-implemented in Go: two
// libswresample passes, one that converts and down-mixes at the source
// rate, one that resamples the single channel left (asked to do both at
// once, libswresample resamples every channel before mixing them). They
// are called directly (resample.go) unless the caller asks for extra
// filters: a filter graph around them cost FFmpeg 5.1 buffer allocations
// and log formatting on every frame, 0.24 ms per second of audio against
// 0.10 (a fifth of fingerprinting time), and the samples are identical
// (TestResamplerMatchesFilterGraph). At end of input the decoder is drained
// (SendPacket(nil) until EOF) and the resampler or the filter graph
// flushed, so no trailing samples are lost.
//
// # Memory
//
// Memory is bounded whatever the input length: one packet, one decoded
// frame and one resampled frame are alive at a time, and samples are handed
// to the caller chunk by chunk. A 3-hour file is streamed, never loaded.
//
// # Cancellation
//
// A context cancels decoding at three depths: FFmpeg's interrupt callback
// (aborts a blocking open or read inside C), the custom reader (checks ctx
// before every read) and the packet loop (checks ctx every
// checkContextEveryNPackets packets).
package media
