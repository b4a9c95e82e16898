package scan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cueprint/cueprint/index"
	"github.com/cueprint/cueprint/match"
	"github.com/cueprint/cueprint/server/api"
)

// BenchmarkOpenScan opens a store holding one finished scan of
// CUEPRINT_SCAN_ITEMS items (default 100,000), each with two usage
// lines, and reports the time to open it and the heap it then holds per
// item, and the time to read all its usage lines back.
//
//	CUEPRINT_SCAN_ITEMS=1000000 go test ./server/scan -run - -bench OpenScan -benchtime 1x
func BenchmarkOpenScan(b *testing.B) {
	n := 100_000
	if v := os.Getenv("CUEPRINT_SCAN_ITEMS"); v != "" {
		fmt.Sscan(v, &n)
	}
	dir := b.TempDir()
	writeScan(b, dir, n)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		m, err := Open(Config{Dir: dir})
		b.ReportMetric(float64(time.Since(t0).Microseconds())/float64(n), "open-µs/item")
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/item")
		start := time.Now()
		lines, after2 := 0, ""
		for {
			page, next, err := m.Usages(Filter{All: true}, after2, 10_000)
			if err != nil {
				b.Fatal(err)
			}
			lines += len(page)
			if next == "" {
				break
			}
			after2 = next
		}
		if lines != 2*n {
			b.Fatalf("%d usage lines, want %d", lines, 2*n)
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(lines), "ns/line-read")
		m.Close()
	}
}

// writeScan writes a finished scan of n items, two usage lines each,
// into dir as the manager would (without a sync per event).
func writeScan(b *testing.B, dir string, n int) {
	f, err := newFiles(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	its := make([]api.ScanItem, n)
	for i := range its {
		its[i] = api.ScanItem{ItemID: fmt.Sprintf("item-%08d", i), Media: fmt.Sprintf("media/%08d.mp4", i), Uploader: "uploader",
			Title: "an upload's title", Views: int64(i), Territory: "FR", PeriodStart: "2026-11-01", PeriodEnd: "2026-11-30"}
	}
	h := header{ID: "scan-bench", Kind: KindCatalogue, Settings: DefaultSettings(), Total: n, CreatedAt: time.Unix(0, 0)}
	if _, err := f.create(h, its); err != nil {
		b.Fatal(err)
	}
	lf, err := os.Create(filepath.Join(dir, "scans", h.ID, "log.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(lf, 1<<20)
	enc := json.NewEncoder(bw)
	owners := []index.Owner{{Name: "Writer", Role: "composer", Share: 50}, {Name: "Publisher", Role: "publisher", Share: 50}}
	for i, it := range its {
		segs := []match.Segment{
			{Work: index.Work{ID: fmt.Sprintf("W%d", i%5000), ISRC: "USRC17607839", DurationS: 240, Owners: owners}, QueryStart: 10, QueryEnd: 40, RefEnd: 30, Confidence: 1, Speed: 1, Modality: "audio"},
			{Work: index.Work{ID: fmt.Sprintf("W%d", (i+7)%5000), DurationS: 200, Owners: owners}, QueryStart: 60, QueryEnd: 120, RefStart: 5, RefEnd: 65, Confidence: 1, Speed: 1, Modality: "audio"},
		}
		if err := enc.Encode(event{Line: i + 1, DurationS: 180, Usages: Uses(h.ID, i+1, it, 180, segs, h.Settings)}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Unix(0, 0)
	if err := enc.Encode(event{State: StateDone, At: &now}); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := lf.Close(); err != nil {
		b.Fatal(err)
	}
}
