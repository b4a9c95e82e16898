package main

import (
	"runtime/debug"
	"strings"
)

// buildVersion names the build when the source has no VCS history to
// stamp (a container build without .git): go build -ldflags
// "-X main.buildVersion=v1.2.3-4-gabcdef". Empty otherwise.
var buildVersion string

// version reports the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if buildVersion != "" {
		return buildVersion + " " + bi.GoVersion
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12 && !strings.Contains(v, s.Value[:12]):
			v += " " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true" && !strings.Contains(v, "+dirty"):
			v += " (modified)"
		}
	}
	return v + " " + bi.GoVersion
}
