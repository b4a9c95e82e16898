package server

import (
	"expvar"
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cueprint/cueprint/index"
)

// metrics are the server's Prometheus metrics. Every label value comes
// from a fixed set: route patterns, methods, status codes, outcomes and
// error reasons; never IDs, paths, tenants or keys.
type metrics struct {
	requests       *prometheus.CounterVec   // route, method, code
	latency        *prometheus.HistogramVec // route, method
	matchOutcomes  *prometheus.CounterVec   // outcome
	decodeErrors   *prometheus.CounterVec   // reason
	registrations  *prometheus.CounterVec   // result
	audioSeconds   prometheus.Counter
	extractSeconds prometheus.Counter
	inflight       prometheus.Gauge
	queued         prometheus.Gauge
	streams        prometheus.Gauge
	receiving      prometheus.Gauge
	rejected       *prometheus.CounterVec // reason
	panics         prometheus.Counter
	authFailures   *prometheus.CounterVec // reason
	matchQuerySecs prometheus.Histogram
}

// Outcomes and reasons used as label values.
const (
	outcomeMatched   = "matched"
	outcomeUnmatched = "unmatched"
	outcomeError     = "error"
)

func newMetrics(reg prometheus.Registerer, store *index.Store, version string) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cueprint_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"route", "method"}),
		matchOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_match_outcomes_total", Help: "Match requests by outcome (matched, unmatched, error).",
		}, []string{"outcome"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_decode_errors_total", Help: "Media that could not be used, by reason.",
		}, []string{"reason"}),
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_registrations_total", Help: "Work registrations by result (created, replaced, error).",
		}, []string{"result"}),
		audioSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cueprint_fingerprint_audio_seconds_total", Help: "Seconds of audio fingerprinted.",
		}),
		extractSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cueprint_fingerprint_busy_seconds_total",
			Help: "Wall seconds spent decoding and fingerprinting; rate(audio)/rate(busy) is the throughput in x real time per worker.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cueprint_work_inflight", Help: "Requests holding a worker slot (decoding or matching).",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cueprint_work_queued", Help: "Admitted requests (their bodies received) waiting for a worker slot.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cueprint_match_streams_active", Help: "Streaming matches in progress.",
		}),
		receiving: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cueprint_uploads_receiving", Help: "Request bodies being received (uploads, URL fetches, streams' first bytes), before admission.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_rejected_total", Help: "Requests refused for load (queue_full, streams_full, uploads_full, key_streams_full, key_uploads_full).",
		}, []string{"reason"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cueprint_panics_total", Help: "Panics recovered in request handlers.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cueprint_auth_failures_total", Help: "Requests refused by access control (unauthenticated, forbidden).",
		}, []string{"reason"}),
		matchQuerySecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cueprint_match_query_audio_seconds", Help: "Duration of the audio of match queries.",
			Buckets: []float64{1, 3, 5, 10, 20, 30, 60, 180, 600, 3600},
		}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.requests, m.latency, m.matchOutcomes, m.decodeErrors, m.registrations, m.audioSeconds,
		m.extractSeconds, m.inflight, m.queued, m.streams, m.receiving, m.rejected, m.panics, m.authFailures, m.matchQuerySecs)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cueprint_build_info", Help: "Build information.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(build)
	stat := func(name, help string, f func(index.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(store.Stats()) })
	}
	reg.MustRegister(
		stat("cueprint_works_registered", "Registered works.", func(s index.Stats) float64 { return float64(s.Works) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cueprint_index_size_bytes", Help: "Store size on disk (the files' allocated bytes)."},
			func() float64 { return float64(store.SizeBytes()) }),
		stat("cueprint_postings_cache_bytes", "Memory held by decoded postings.", func(s index.Stats) float64 { return float64(s.PostingsCacheBytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cueprint_postings_cache_hits_total", Help: "Postings lookups outside the segment answered from the decoded cache."},
			func() float64 { return float64(store.Stats().PostingsCacheHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cueprint_postings_cache_misses_total", Help: "Postings lookups outside the segment read from Badger."},
			func() float64 { return float64(store.Stats().PostingsCacheMisses) }),
		stat("cueprint_postings_segment_bytes", "Memory held by the in-memory postings segment.", func(s index.Stats) float64 { return float64(s.SegmentBytes) }),
		stat("cueprint_postings_segment_lists", "Postings lists in the in-memory segment.", func(s index.Stats) float64 { return float64(s.SegmentLists) }),
		stat("cueprint_postings_segment_complete", "1 when the segment holds every list, 0 when cut at --postings-memory (or not loaded yet).", func(s index.Stats) float64 {
			if s.SegmentComplete {
				return 1
			}
			return 0
		}),
		stat("cueprint_postings_segment_dirty_keys", "Keys written since the segment was built, read from disk until the next merge.", func(s index.Stats) float64 { return float64(s.SegmentDirtyKeys) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cueprint_postings_segment_builds_total", Help: "Postings segments built: the load at start, then each background merge."},
			func() float64 { return float64(store.Stats().SegmentMerges) }),
		stat("cueprint_store_disk_free_bytes", "Free space on the store's disk (-1: unknown).", func(s index.Stats) float64 { return float64(s.DiskFreeBytes) }),
		stat("cueprint_store_disk_reserve_bytes", "Free space writes must leave on the store's disk (0: no guard).", func(s index.Stats) float64 { return float64(s.DiskReserveBytes) }),
		stat("cueprint_store_writable", "1 when the store accepts writes: opened read-write and its disk above the reserve.", func(s index.Stats) float64 {
			if s.Writable && !s.LowDisk {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cueprint_store_writes_refused_total", Help: "Writes the store refused for lack of disk space."},
			func() float64 { return float64(store.Stats().WritesRefused) }),
		badgerCollector{},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// badgerCollector exports Badger's own expvar metrics (process-wide, one
// store per daemon). Badger keys some of them by directory: those are
// summed, so no path becomes a label.
type badgerCollector struct{}

var badgerVars = []struct {
	expvar, name, help string
	counter            bool
}{
	{"badger_read_num_vlog", "cueprint_badger_vlog_reads_total", "Badger value log reads.", true},
	{"badger_read_bytes_vlog", "cueprint_badger_vlog_read_bytes_total", "Badger value log bytes read.", true},
	{"badger_write_num_vlog", "cueprint_badger_vlog_writes_total", "Badger value log writes.", true},
	{"badger_write_bytes_vlog", "cueprint_badger_vlog_written_bytes_total", "Badger value log bytes written.", true},
	{"badger_read_bytes_lsm", "cueprint_badger_lsm_read_bytes_total", "Badger LSM bytes read.", true},
	{"badger_write_bytes_l0", "cueprint_badger_l0_written_bytes_total", "Badger bytes written to level 0.", true},
	{"badger_write_bytes_compaction", "cueprint_badger_compaction_written_bytes_total", "Badger bytes written by compactions.", true},
	{"badger_get_num_lsm", "cueprint_badger_lsm_gets_total", "Badger LSM lookups.", true},
	{"badger_hit_num_lsm_bloom_filter", "cueprint_badger_bloom_hits_total", "Badger lookups answered by a bloom filter.", true},
	{"badger_get_num_memtable", "cueprint_badger_memtable_gets_total", "Badger memtable lookups.", true},
	{"badger_get_num_user", "cueprint_badger_gets_total", "Badger Get calls.", true},
	{"badger_put_num_user", "cueprint_badger_puts_total", "Badger Set calls.", true},
	{"badger_write_bytes_user", "cueprint_badger_written_bytes_total", "Bytes written through Badger.", true},
	{"badger_iterator_num_user", "cueprint_badger_iterators_total", "Badger iterators created.", true},
	{"badger_size_bytes_lsm", "cueprint_badger_lsm_size_bytes", "Badger LSM size.", false},
	{"badger_size_bytes_vlog", "cueprint_badger_vlog_size_bytes", "Badger value log size.", false},
	{"badger_write_pending_num_memtable", "cueprint_badger_pending_writes", "Badger writes pending in memtables.", false},
	{"badger_compaction_current_num_lsm", "cueprint_badger_compactions_running", "Badger compactions running.", false},
}

func (badgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range badgerVars {
		ch <- prometheus.NewDesc(v.name, v.help, nil, nil)
	}
}

func (badgerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range badgerVars {
		val, ok := expvarValue(expvar.Get(v.expvar))
		if !ok {
			continue
		}
		typ := prometheus.GaugeValue
		if v.counter {
			typ = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(v.name, v.help, nil, nil), typ, val)
	}
}

// expvarValue reads an Int, or the sum of a Map of Ints.
func expvarValue(v expvar.Var) (float64, bool) {
	switch x := v.(type) {
	case *expvar.Int:
		return float64(x.Value()), true
	case *expvar.Map:
		var sum float64
		x.Do(func(kv expvar.KeyValue) {
			if f, err := strconv.ParseFloat(kv.Value.String(), 64); err == nil {
				sum += f
			}
		})
		return sum, true
	}
	return 0, false
}
