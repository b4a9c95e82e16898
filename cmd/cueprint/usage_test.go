package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHelpAndMistakes: help asked for goes to standard output with exit
// 0; a mistake is said once on standard error with exit 2 (usage) or 1
// (no store), and creates nothing.
func TestHelpAndMistakes(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo-db")
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // a substring of standard output ("" : empty)
		stderr     string // a substring of standard error ("" : empty)
		stderrOnce string // said exactly once
	}{
		{[]string{"--help"}, 0, "commands:", "", ""},
		{[]string{"help"}, 0, "commands:", "", ""},
		{[]string{"--version"}, 0, "cueprint ", "", ""},
		{[]string{"works", "--help"}, 0, "usage: cueprint works", "", ""},
		{[]string{"works", "-h"}, 0, "usage: cueprint works", "", ""},
		{[]string{"keys", "--help"}, 0, "usage: cueprint keys", "", ""},
		{[]string{"keys", "-h"}, 0, "usage: cueprint keys", "", ""},
		{[]string{"match", "--help"}, 0, "-json", "", ""},
		{[]string{"regster"}, 2, "", `did you mean "register"`, ""},
		{[]string{"match", "--bogus", "x"}, 2, "", "cueprint match -h", "-bogus"},
		{[]string{"match", "--db", typo, "q.mp3"}, 1, "", "no store at", ""},
		{[]string{"works", "list", "--db", typo}, 1, "", "no store at", ""},
		{[]string{"keys", "list", "--db", typo}, 1, "", "no store at", ""},
		{[]string{"keys", "revoke", "--db", typo}, 2, "", "revoke takes exactly one key ID", ""},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		name := strings.Join(tc.args, " ")
		assert.Equal(t, tc.code, code, "%s: stderr %q", name, stderr)
		if tc.stdout == "" {
			assert.Empty(t, stdout, name)
		} else {
			assert.Contains(t, stdout, tc.stdout, name)
		}
		if tc.stderr == "" {
			assert.Empty(t, stderr, name)
		} else {
			assert.Contains(t, stderr, tc.stderr, name)
		}
		if tc.stderrOnce != "" {
			assert.Equal(t, 1, strings.Count(stderr, tc.stderrOnce), "%s: %q", name, stderr)
		}
	}
	_, err := os.Stat(typo)
	assert.True(t, os.IsNotExist(err), "a mistyped --db creates nothing")
}

func TestNearestCommand(t *testing.T) {
	for in, want := range map[string]string{"regster": "register", "mtch": "match", "serv": "serve", "xyzzy": "", "wrks": "works"} {
		assert.Equal(t, want, nearestCommand(in), "nearestCommand(%q)", in)
	}
}
