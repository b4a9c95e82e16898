package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApplySettingsPrecedence: the command line wins over the
// environment, which wins over the file, which wins over the default;
// every source goes through the flag's parser.
func TestApplySettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cueprint.yaml")
	require.NoError(t, os.WriteFile(file, []byte("# site settings\nlisten: 0.0.0.0:80\nworkers: 3\nmax-upload-bytes: 2G\nmedia-root:\n"), 0o600))
	env := map[string]string{"CUEPRINT_WORKERS": "5", "CUEPRINT_MAX_UPLOAD_BYTES": "512M"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "")
	workers := fs.Int("workers", 2, "")
	var size byteSize = 1 << 30
	fs.Var(&size, "max-upload-bytes", "")
	root := fs.String("media-root", "/srv", "")
	queue := fs.Int("queue", 8, "")
	fs.String("config", "", "")
	require.NoError(t, fs.Parse([]string{"--max-upload-bytes", "64M"}))

	got, err := applySettings(fs, file, nil, lookup)
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:80", *listen, "file over default")
	assert.Equal(t, 5, *workers, "environment over file")
	assert.Equal(t, byteSize(64<<20), size, "command line over environment and file")
	assert.Equal(t, "", *root, "an empty value in the file clears the default")
	assert.Equal(t, 8, *queue, "default when nothing sets it")

	sources := map[string]string{}
	for _, s := range got {
		sources[s.name] = s.source
	}
	assert.Equal(t, map[string]string{
		"listen":           "file " + file + ":2",
		"workers":          "env CUEPRINT_WORKERS",
		"max-upload-bytes": "flag",
		"media-root":       "file " + file + ":5",
		"queue":            "default",
	}, sources, "config is never a setting of its own")
}

func TestApplySettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "listen: x:1\nworkrs: 3\n", nil, `:2: unknown setting "workrs" (did you mean "workers"?)`},
		{"bad value in file", "workers: many\n", nil, `:1: workers: parse error`},
		{"bad size in env", "", map[string]string{"CUEPRINT_MAX_UPLOAD_BYTES": "lots"}, `CUEPRINT_MAX_UPLOAD_BYTES="lots"`},
		{"not a mapping", "- workers\n", nil, "want a mapping"},
		{"nested value", "workers:\n  a: 1\n", nil, "want a single value"},
		{"set twice", "workers: 1\nworkers: 2\n", nil, "set again (first on line 1)"},
		{"not YAML", "workers: [1\n", nil, "config "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			require.NoError(t, os.WriteFile(file, []byte(tc.file), 0o600))
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.String("listen", "", "")
			fs.Int("workers", 2, "")
			var size byteSize
			fs.Var(&size, "max-upload-bytes", "")
			require.NoError(t, fs.Parse(nil))
			_, err := applySettings(fs, file, nil, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestServeCheckConfig: --check-config prints the settings as a
// configuration file, each with its source, and that file read back
// gives the same settings.
func TestServeCheckConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("max-duration: 90m\nmedia-root: "+dir+"\n"), 0o600))
	run1 := func(args []string, vars map[string]string) (int, string, string) {
		e, out, errb := testEnv(vars)
		code := e.dispatch(context.Background(), append([]string{"serve"}, args...))
		return code, out.String(), errb.String()
	}
	code, out, stderr := run1([]string{"--check-config", "--listen", "127.0.0.1:0"}, map[string]string{"CUEPRINT_CONFIG": file, "CUEPRINT_WORKERS": "3"})
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"listen: 127.0.0.1:0 ", "# flag\n",
		"workers: 3 ", "# env CUEPRINT_WORKERS\n",
		"max-duration: 1h30m0s ", "# file " + file + ":1\n",
		"media-root: " + dir + " ",
		"max-upload-bytes: 1G ", "# default\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "check-config")

	// The printout is itself a configuration file.
	again := filepath.Join(dir, "again.yaml")
	require.NoError(t, os.WriteFile(again, []byte(out), 0o600))
	code, out2, stderr := run1([]string{"--check-config", "--config", again}, nil)
	require.Equal(t, 0, code, stderr)
	strip := func(s string) string {
		var lines []string
		for l := range strings.Lines(s) {
			lines = append(lines, strings.TrimSpace(strings.SplitN(l, "#", 2)[0]))
		}
		return strings.Join(lines, "\n")
	}
	assert.Equal(t, strip(out), strip(out2))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--check-config", "--workers", "0"}, "--workers 0: want at least 1"},
		{[]string{"--check-config", "--media-root", filepath.Join(dir, "nope")}, "--media-root"},
		{[]string{"--check-config", "--media-root", file}, "not a directory"},
		{[]string{"--check-config", "--max-upload-bytes", "1.5Q"}, "max-upload-bytes"},
	} {
		code, _, stderr := run1(tc.args, nil)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}
