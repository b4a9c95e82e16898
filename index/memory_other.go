//go:build !linux

package index

// totalMemory returns 0 (unknown) where the memory is not queried: the
// postings segment then has no default bound.
func totalMemory() int64 { return 0 }
