package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteSize is a flag value in bytes that takes units: 1048576, 512K, 256M,
// 1G, 2GiB, 1.5G. K, M, G and T are binary (1024-based), as df -h and
// Badger count; a trailing "B" or "iB" is allowed.
type byteSize int64

// sizeUnits maps a unit's first letter to its multiplier.
var sizeUnits = map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

func (b *byteSize) String() string {
	if b == nil {
		return "0"
	}
	return formatByteSize(int64(*b))
}

// parseByteSize parses a size with an optional binary unit.
func parseByteSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := 1.0
	if n := len(t); n > 0 {
		if m, ok := sizeUnits[t[n-1]]; ok {
			mult, t = m, strings.TrimSpace(t[:n-1])
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit (K, M, G, T), like 512M", s)
	}
	v := f * mult
	if v > math.MaxInt64 || v < math.MinInt64 {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	return int64(v), nil
}

// formatByteSize prints n with the largest unit that divides it exactly.
func formatByteSize(n int64) string {
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n != 0 && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
