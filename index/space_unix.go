//go:build unix

package index

import "golang.org/x/sys/unix"

// diskFree returns the bytes an unprivileged writer may still use on the
// filesystem holding dir (statfs's f_bavail: root's reserved blocks are
// not counted, since the daemon should not depend on running as root).
func diskFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
