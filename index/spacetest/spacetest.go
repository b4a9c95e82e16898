// Package spacetest gives tests a small real filesystem to fill: a tmpfs
// of a chosen size, mounted for the test and unmounted after it.
package spacetest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// MountTmpfs mounts a tmpfs of size bytes on a temporary directory and
// returns it, or skips the test when it cannot: mounting needs root (and
// a kernel that lets this process mount).
func MountTmpfs(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root")
	}
	mnt := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", mnt).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// Fill writes to a file in dir until the filesystem is full, and returns
// the file's path: another program taking the last byte.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	return FillTo(t, dir, 0)
}

// FillTo writes to a new file in dir until at most leave bytes are free on
// its filesystem (another program taking space), and returns the file's
// path.
func FillTo(t testing.TB, dir string, leave int64) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "ballast-*")
	if err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
		free := int64(st.Bavail) * int64(st.Bsize)
		if free <= leave {
			break
		}
		n := min(int64(len(buf)), free-leave)
		if _, err := f.Write(buf[:n]); err != nil {
			break // full
		}
	}
	return f.Name()
}
