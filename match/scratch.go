package match

// scratch holds a search's large buffers, reused across searches (a
// Matcher keeps them in a sync.Pool): a search under every variant on a
// 12-hour store fills tens of megabytes, which, allocated afresh, cost as
// much in garbage collection as the search itself.
type scratch struct {
	entries    []entry
	entriesTmp []entry
	uniq       []uint32
	uniqPos    []int32
	counts     hitCounts
	kept       []uint32
	bins       []int32
	align      alignScratch
}

// maxPooledWords bounds the buffers a pooled scratch keeps (in 4-byte
// words, 64 MiB): a rare huge search does not pin its memory forever.
const maxPooledWords = 16 << 20

func (m *Matcher) getScratch() *scratch {
	if sc, ok := m.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

func (m *Matcher) putScratch(sc *scratch) {
	a := &sc.align
	words := 5*(cap(sc.entries)+cap(sc.entriesTmp)) + cap(sc.uniq) + cap(sc.uniqPos) + sc.counts.words() + cap(sc.kept) + cap(sc.bins) +
		4*cap(a.near) + 2*(cap(a.offs)+cap(a.tmp)) + cap(a.seen)
	for i := range a.hitsV {
		words += 4*cap(a.hitsV[i]) + 2*cap(a.offsV[i])
	}
	if words <= maxPooledWords {
		m.pool.Put(sc)
	}
}
