package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestMediaProgress: off a terminal, a long file's decoding is reported
// in lines (the first at once, then every interval); a short one is not.
func TestMediaProgress(t *testing.T) {
	var buf bytes.Buffer
	short := &mediaProgress{w: &buf, label: "match short.mp3"}
	short.update(10*time.Second, 30*time.Second)
	short.finish()
	assert.Empty(t, buf.String(), "a short file shows nothing")

	long := &mediaProgress{w: &buf, label: "match set.mp3"}
	long.update(10*time.Second, 3*time.Hour)
	long.update(20*time.Second, 3*time.Hour) // within the interval: no line
	long.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	assert.Equal(t, []string{"match set.mp3: 10/10800 10s of media decoded"}, lines)

	buf.Reset()
	live := &mediaProgress{w: &buf, label: "match -"}
	live.update(2*time.Minute, 0)
	assert.Equal(t, "match -: 2m0s of media decoded\n", buf.String(), "no declared length: no total")
}
