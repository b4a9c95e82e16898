package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// No container engine runs where the tests run, so the image's contract
// is checked on its sources: the Dockerfile's final stage, the ignore
// file, the compose file, and the docker commands the README and the
// Dockerfile give, each run through the command line as the image would.

// dockerfile is the final stage of the Dockerfile, its instructions with
// continuation lines joined.
type dockerfile struct {
	instr []string // "USER cueprint:cueprint", ...
	env   map[string]string
	run   string // every RUN of the final stage, joined
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	var d dockerfile
	var cur strings.Builder
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
		if strings.HasSuffix(l, "\\") {
			continue
		}
		in := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if strings.HasPrefix(in, "FROM ") {
			d.instr = nil // only the final stage ships
		}
		d.instr = append(d.instr, in)
	}
	d.env = map[string]string{}
	for _, in := range d.instr {
		switch {
		case strings.HasPrefix(in, "ENV "):
			for _, kv := range strings.Fields(strings.TrimPrefix(in, "ENV ")) {
				k, v, ok := strings.Cut(kv, "=")
				require.True(t, ok, "ENV %q: want KEY=VALUE", kv)
				d.env[k] = v
			}
		case strings.HasPrefix(in, "RUN "):
			d.run += in + "\n"
		}
	}
	return d
}

// index returns the position of the first instruction starting with
// prefix, or -1.
func (d dockerfile) index(prefix string) int {
	return slices.IndexFunc(d.instr, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func (d dockerfile) get(prefix string) string {
	if i := d.index(prefix); i >= 0 {
		return strings.TrimSpace(strings.TrimPrefix(d.instr[i], prefix))
	}
	return ""
}

func execForm(t *testing.T, s string) []string {
	t.Helper()
	var v []string
	require.NoError(t, json.Unmarshal([]byte(s), &v), "exec form wanted: %s", s)
	return v
}

func TestDockerfileContract(t *testing.T) {
	d := readDockerfile(t)

	user := d.get("USER ")
	require.NotEmpty(t, user, "the image runs as a named user")
	name := strings.Split(user, ":")[0]
	assert.NotContains(t, []string{"root", "0"}, name)
	assert.Contains(t, d.run, "useradd", "the user is created in the final stage")
	assert.Regexp(t, `chown `+regexp.QuoteMeta(name)+`(:\S+)? /data`, d.run, "/data belongs to the user: a new volume copies it")
	assert.Less(t, d.index("RUN "), d.index("VOLUME "), "/data's owner is set before it becomes a volume")
	assert.Equal(t, "/data", d.get("VOLUME "))
	assert.Equal(t, "/data", d.get("WORKDIR "))
	assert.Less(t, d.index("VOLUME "), d.index("USER "))
	assert.Contains(t, d.run, "ca-certificates", "https URLs need CA certificates")

	assert.Equal(t, []string{"cueprint"}, execForm(t, d.get("ENTRYPOINT ")))
	cmd := execForm(t, d.get("CMD "))
	assert.Equal(t, []string{"serve"}, cmd)

	hc := d.get("HEALTHCHECK ")
	require.NotEmpty(t, hc)
	_, hcCmd, ok := strings.Cut(hc, "CMD ")
	require.True(t, ok)
	probe := execForm(t, hcCmd)
	require.Equal(t, "cueprint", probe[0], "the health check uses the binary itself: no curl in the image")
	assert.True(t, slices.ContainsFunc(commands(), func(c command) bool { return c.name == probe[1] }), "health check command %q exists", probe[1])

	// Every variable the image sets is a setting serve knows.
	e, _, _ := testEnv(nil)
	o, err := serveSettings(e, nil)
	require.NoError(t, err)
	var names []string
	for _, s := range o.settings {
		names = append(names, envName(s.name))
	}
	for k := range d.env {
		assert.Contains(t, names, k, "ENV %s is a serve setting", k)
	}
	assert.Equal(t, "0.0.0.0:8080", d.env["CUEPRINT_LISTEN"], "reachable from outside the container")
	assert.Equal(t, "8080", d.get("EXPOSE "))

	// .git is left out of the context, so the version comes in as an
	// argument the binary is stamped with.
	df, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	assert.Contains(t, string(df), "ARG VERSION")
	assert.Contains(t, string(df), "-X main.buildVersion=${VERSION}")

	// The runtime libraries are those of the FFmpeg the build links:
	// each is what the -dev package installed here depends on.
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		for _, pkg := range regexp.MustCompile(`\blib(avcodec|avformat|avfilter|avutil|swresample|swscale|avdevice)\d+\b`).FindAllString(d.run, -1) {
			out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
			assert.NoError(t, err, "runtime package %s is not the one the build machine's FFmpeg uses", pkg)
			assert.Contains(t, string(out), "installed", pkg)
		}
	}
}

// TestDockerignore: the context leaves out history, media and outputs,
// and keeps everything the build copies.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	var patterns []string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ignored := func(p string) bool {
		for _, pat := range patterns {
			pat = strings.TrimPrefix(pat, "**/")
			for dir := p; dir != "."; dir = filepath.Dir(dir) {
				if ok, _ := filepath.Match(pat, dir); ok {
					return true
				}
				if ok, _ := filepath.Match(pat, filepath.Base(dir)); ok && strings.Contains(pat, "*") {
					return true
				}
			}
		}
		return false
	}
	for _, p := range []string{".git/HEAD", ".cache/set_A.tsv", "bin/cueprint", "out/x", "cueprint", "cueprint-data/MANIFEST"} {
		assert.True(t, ignored(p), "%s is left out of the build context", p)
	}
	out, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Skip("not a git checkout")
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasSuffix(p, ".go") || p == "go.mod" || p == "go.sum" || strings.HasPrefix(p, "server/") {
			assert.False(t, ignored(p), "%s is needed by the build", p)
		}
	}
}

// TestDockerCommands runs the cueprint part of every docker command of
// the README, the Dockerfile and the compose file with the image's
// environment, as the container would, against a temporary store.
func TestDockerCommands(t *testing.T) {
	d := readDockerfile(t)
	db := filepath.Join(t.TempDir(), "db")
	vars := map[string]string{}
	for k, v := range d.env {
		vars[k] = v
	}
	vars["CUEPRINT_DB"] = db // /data/db inside the container
	vars["CUEPRINT_LISTEN"] = "127.0.0.1:0"
	defaultCmd := execForm(t, d.get("CMD "))

	var lines []string
	for _, f := range []string{"../../README.md", "../../Dockerfile", "../../compose.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			l := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(sc.Text()), "#"))
			if strings.HasPrefix(l, "docker run ") || strings.HasPrefix(l, "docker compose run ") {
				lines = append(lines, l)
			}
		}
	}
	require.GreaterOrEqual(t, len(lines), 3)
	ran := 0
	for _, l := range lines {
		f := strings.Fields(l)
		// The arguments after the image (or compose service) name: the
		// last "cueprint" (an earlier one is --name's).
		at := -1
		for i, w := range f {
			if w == "cueprint" {
				at = i
			}
		}
		require.GreaterOrEqual(t, at, 0, l)
		args := f[at+1:]
		if len(args) == 0 {
			args = defaultCmd
		}
		require.True(t, slices.ContainsFunc(commands(), func(c command) bool { return c.name == args[0] }), "%s: no command %q", l, args[0])
		if args[0] == "serve" {
			args = append(args, "--check-config")
		}
		e, stdout, stderr := testEnv(vars)
		code := e.dispatch(context.Background(), args)
		assert.Equal(t, 0, code, "%s\n%s%s", l, stdout, stderr)
		ran++
	}
	t.Logf("%d docker commands run", ran)

	// compose: the service keeps its store in a volume at /data, and sets
	// only settings serve knows.
	b, err := os.ReadFile("../../compose.yaml")
	require.NoError(t, err)
	var c struct {
		Services map[string]struct {
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &c))
	svc, ok := c.Services["cueprint"]
	require.True(t, ok)
	assert.True(t, slices.ContainsFunc(svc.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }))
	se, _, _ := testEnv(nil)
	o, err := serveSettings(se, nil)
	require.NoError(t, err)
	for k := range svc.Environment {
		if k == "CUEPRINT_LOG_LEVEL" {
			continue
		}
		assert.True(t, slices.ContainsFunc(o.settings, func(s setting) bool { return envName(s.name) == k }), "compose sets %s, not a setting", k)
	}
}

// testEnv returns an env over buffers whose environment is vars alone.
func testEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, log: slog.New(slog.DiscardHandler), level: new(slog.LevelVar),
		lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}, &out, &errb
}

// TestBuildVersionStamp: the variable the Dockerfile stamps exists, and
// --version prints it.
func TestBuildVersionStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cueprint")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.buildVersion=v0.0.0-stamp", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "cueprint v0.0.0-stamp "), "%s", out)
}
