package match

import (
	"math"
	"slices"

	"github.com/cueprint/cueprint/fingerprint"
)

// decide weighs each work's alignment against its own unrelated offsets
// and the other works the window hit (step 6 of a search, package doc,
// confidenceOf); the ones at MinConfidence or above are the window's
// hits.
func (m *Matcher) decide(out []windowHit, worksSeen int, variants []fingerprint.Variant) []windowHit {
	// Decision (package doc, step 4): each work's alignment against its
	// own unrelated offsets, and against the other works the window hit.
	var decided []windowHit
	for i := range out {
		h := &out[i]
		second := 0
		for _, o := range out {
			if o.num != h.num {
				second = max(second, o.score)
			}
		}
		h.confidence = confidenceOf(h.score, h.background, second, m.p.MinAligned, worksSeen,
			variants[h.variant] != fingerprint.Variant{TimeScale: 1})
		m.log.Debug("aligned", "work_num", h.num, "score", h.score, "background", h.background, "second", second,
			"confidence", h.confidence, "hits", h.pairsInRange, "speed", h.a, "span_frames", h.last-h.first, "variants", len(variants))
		if h.confidence >= m.p.MinConfidence {
			decided = append(decided, *h)
		}
	}
	return decided
}

// Confidence calibration: the logistic of the alignment's z statistic,
// z = (score - background) / sqrt(background + 1), centred at
// confidenceZ0 with slope confidenceSlope, so MinConfidence 0.9 means
// z >= 8.5. Measured on the public set (10 s queries, every variant
// searched, 1.3 h store): the 167 unrelated queries of the benchmark
// (music, speech, noise) reach z 8.1, music by the same composer as a
// registered work (HyperRogue's) the highest; true matches under 0 dB of
// noise or another song mixed in mostly exceed 9. A bar of z 6.9 let five
// of the 92 unrelated music excerpts match; at 8.5 none does, for a loss
// of at most 0.025 of recall under the hardest conditions (another song
// at -5 dB, white noise at 0 dB).
//
// Catalogue-size correction: that calibration was made on stores of a few
// hundred works. A window is compared with every work its hashes hit, and
// the best-voted few are aligned under several hypotheses each; the more
// works compete, the higher the best unrelated z climbs by chance. The
// scale simulation (corpus/bench, synthetic works of 10 s) measured it:
// with the earlier correction (+0.5 per factor e from 1,000 works),
// unrelated music matched at z 9.7 among 10,000 works and 11.3 among
// 100,000 (HyperRogue tracks against chunks of their siblings' prints),
// against 8.1 among 223: about +0.5 per factor e of works, from a lower
// base. The centre therefore rises by confidencePerLogWorks
// for every factor e of works hit beyond confidenceBaseWorks (the size of
// the stores the calibration was made on): +2.2 at 10,000, +3.6 at
// 100,000, +5.0 at 1,000,000, a margin of about 1 over what was measured.
// Weak true matches are lost first on a large store; that is the price
// of not paying the wrong people.
const (
	confidenceZ0          = 7.1
	confidenceSlope       = 1.6
	confidenceBaseWorks   = 250
	confidencePerLogWorks = 0.6
)

// Crowd test. Music built on loops repeats the matched passage at many
// offsets of the same work, which raises its own background: under -5 dB
// of white noise such a true match aligns 35-45 hashes over a background
// of 12-16 (z near 6) while every other work the window hit aligns 0-17.
// Unrelated queries look the opposite way: measured on the public set,
// their best work's score stands out from the next work's by z at most
// 4.3 (z_crowd), and the two tests together (min of own z and z_crowd)
// never pass 4.3. So the score is also tested against the best other
// work's (at least MinAligned): z_crowd = (score - second) /
// sqrt(second + 1). Two tests passed at crowdZ each are worth one at the
// MinConfidence point: the decision statistic is max(z_own, min(z_own,
// z_crowd) + crowdBonus). A work registered twice, or two works in one
// window, leaves z_crowd low, and the own test decides alone.
const (
	crowdZ     = 5.0
	crowdBonus = 8.5 - crowdZ
)

// Variant correction. A window is aligned under one hypothesis, the
// identity, and then (when that found no strong match) under the changes
// the invariant search recovers for up to MaxCandidates works, and under
// every variant of Params.Variants, 18 by default: the best unrelated z of
// those searches is the best of many more tries, so it runs higher. An
// alignment under a variant or a recovered change therefore needs
// confidenceVariantZ more than the identity's. Measured with 55-3500 Hz prints on the public set, every
// alignment logged, on three registered sets of 24 works with 1,220
// queries each and on the tests' set with 380: the best unrelated
// variant alignments reached z 8.2 and 8.7 (the latter, music by the
// composer of a registered work, at tempo 0.895), the best unrelated
// identity alignments 7.9. True matches under noise or another song are
// found at the identity, and true matches of clean queries played 5 %
// fast or slow, tempo-changed or pitch-shifted align at z 14 or more. At
// +1.0 no unrelated alignment came within 0.8 of the bar, and one true
// match in 3,660 (another song mixed in at 0 dB) was lost.
const confidenceVariantZ = 1.0

// confidenceOf maps a score, its own background and the best other
// work's score in the window (second) to a confidence in [0, 1], given
// the fewest aligned hashes a segment needs, how many works the window's
// hashes hit, and whether the alignment was found under a variant rather
// than the identity.
func confidenceOf(score int, background float64, second, minAligned, works int, variant bool) float64 {
	z := (float64(score) - background) / math.Sqrt(background+1)
	g := float64(max(second, minAligned))
	zc := (float64(score) - g) / math.Sqrt(g+1)
	z = max(z, min(z, zc)+crowdBonus)
	z0 := confidenceZ0
	if works > confidenceBaseWorks {
		z0 += confidencePerLogWorks * math.Log(float64(works)/confidenceBaseWorks)
	}
	if variant {
		z0 += confidenceVariantZ
	}
	return 1 / (1 + math.Exp(-confidenceSlope*(z-z0)))
}

// background estimates how many distinct hashes an unrelated offset
// aligns for this work: the mean count of the offset windows ranked
// backgroundFrom to backgroundTo (the best few may be true repeats of the
// matched passage, which looped or repeated music legitimately has). offs
// holds the offsets of every hit of the work's alignment at its slope,
// sorted.
func (m *Matcher) background(offs []offPair) float64 {
	counts := tileCounts(offs, float64(m.p.OffsetToleranceFrames))
	slices.Sort(counts)
	slices.Reverse(counts)
	lo, hi := min(backgroundFrom, len(counts)), min(backgroundTo, len(counts))
	if lo >= hi {
		return 0
	}
	sum := 0
	for _, c := range counts[lo:hi] {
		sum += c
	}
	return float64(sum) / float64(hi-lo)
}

// tileCounts returns the number of distinct hash values in each window of
// width tol of offs (sorted by offset), windows tiled from the first
// offset on, each starting at the first offset past the previous one.
func tileCounts(offs []offPair, tol float64) []int {
	var counts []int
	ids := 0
	for _, o := range offs {
		ids = max(ids, int(o.key())+1)
	}
	seen := make([]bool, ids) // by hash id; cleared per window
	var inWindow []uint32
	start := math.Inf(-1)
	for _, o := range offs {
		if o.offset() >= start+tol {
			if len(inWindow) > 0 {
				counts = append(counts, len(inWindow))
			}
			for _, k := range inWindow {
				seen[k] = false
			}
			inWindow = inWindow[:0]
			start = o.offset()
		}
		if k := o.key(); !seen[k] {
			seen[k] = true
			inWindow = append(inWindow, k)
		}
	}
	if len(inWindow) > 0 {
		counts = append(counts, len(inWindow))
	}
	return counts
}

// The background is the mean of the windows ranked backgroundFrom to
// backgroundTo by count.
const (
	backgroundFrom = 4
	backgroundTo   = 24
)
