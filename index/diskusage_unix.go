//go:build unix

package index

import (
	"os"
	"syscall"
)

// diskUsage is the space a file takes on disk (sparse files count what is
// allocated, as du does), falling back to its length.
func diskUsage(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
