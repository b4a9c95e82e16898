package index

import "golang.org/x/sys/unix"

// totalMemory returns the machine's physical memory in bytes (0 when
// unknown).
func totalMemory() int64 {
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil {
		return 0
	}
	return int64(info.Totalram) * int64(info.Unit)
}
