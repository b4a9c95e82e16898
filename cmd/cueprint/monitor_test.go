package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMonitorCommands: monitors added, listed, shown and removed from
// the command line; one refused with the daemon's reason; a monitor
// survives the daemon killed with -9 and runs again.
func TestMonitorCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "cueprint")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	db := filepath.Join(t.TempDir(), "db")
	key, err := exec.Command(bin, "keys", "create", "--db", db, "--role", "admin", "--tenant", "ops").Output()
	require.NoError(t, err)
	radio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		<-r.Context().Done() // a station that sends nothing: stalled
	}))
	defer radio.Close()
	daemon, url := startDaemon(t, bin, db, "--allow-remote-urls")
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append([]string{"monitor", args[0], "--server", url}, args[1:]...)...)
		cmd.Env = append(os.Environ(), "CUEPRINT_KEY="+strings.TrimSpace(string(key)))
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, o.String(), e.String()
	}
	code, _, stderr := run("add", "--name", "FTP FM", "ftp://radio.example/live")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "want an http or https URL")
	code, _, stderr = run("add", radio.URL)
	assert.Equal(t, 2, code, "no --name: %s", stderr)
	code, id, stderr := run("add", "--name", "Radio Test", "--territory", "fr", radio.URL)
	require.Equal(t, 0, code, stderr)
	id = strings.TrimSpace(id)
	require.True(t, strings.HasPrefix(id, "mon-"), id)
	code, list, _ := run("list")
	require.Equal(t, 0, code)
	assert.Contains(t, list, id)
	assert.Contains(t, list, "Radio Test")
	assert.Contains(t, list, "the daemon holds about")
	code, show, _ := run("show", id)
	require.Equal(t, 0, code)
	assert.Regexp(t, `territory:\s+FR`, show)

	// kill -9, then a new daemon on the same store runs the monitor again.
	require.NoError(t, daemon.Process.Kill())
	_ = daemon.Wait()
	_, url = startDaemon(t, bin, db, "--allow-remote-urls")
	code, list, _ = run("list", "--json")
	require.Equal(t, 0, code)
	assert.Contains(t, list, id)
	require.Equal(t, 0, func() int { c, _, _ := run("rm", id); return c }())
	code, list, _ = run("list")
	require.Equal(t, 0, code)
	assert.NotContains(t, list, id)
	code, _, stderr = run("show", id)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not found")
}
