package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A command's settings come from four places, the first that sets a
// flag winning: the command line, the environment (CUEPRINT_<FLAG>, the
// flag's name upper-cased with dashes as underscores), a YAML
// configuration file (--config, or $CUEPRINT_CONFIG) whose keys are the
// flags' names, and the flags' defaults. This is the order nats-server
// and Prometheus' exporters use: a file holds the site's settings, the
// environment a container's, the command line a one-off.
//
// Every value goes through the flag's own parser whatever its source, so
// "max-upload-bytes: 2G" in the file, CUEPRINT_MAX_UPLOAD_BYTES=2G and
// --max-upload-bytes 2G mean the same and fail the same way.

// envPrefix starts every environment variable cueprint reads.
const envPrefix = "CUEPRINT_"

// setting is one flag's effective value and where it came from.
type setting struct {
	name, value string
	// source: "flag", "env CUEPRINT_X", "file F:LINE" or "default".
	source string
}

// envName returns the environment variable of a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// notConfigurable are flags that only make sense on the command line.
var notConfigurable = []string{"config", "check-config", "help", "h"}

// applySettings sets the flags of fs that the command line left unset,
// from the environment (only the flags named in fromEnv; nil: all) and
// then from the configuration file (path "" for none). It returns every
// flag's effective value and source, sorted by name. A setting the file
// does not know, or a value its flag refuses, is an error naming the
// file's line or the variable.
func applySettings(fs *flag.FlagSet, path string, fromEnv []string, lookupEnv func(string) (string, bool)) ([]setting, error) {
	src := map[string]string{}
	fs.Visit(func(f *flag.Flag) { src[f.Name] = "flag" })

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if src[f.Name] != "" || slices.Contains(notConfigurable, f.Name) || (fromEnv != nil && !slices.Contains(fromEnv, f.Name)) {
			return
		}
		name := envName(f.Name)
		v, ok := lookupEnv(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %v", name, v, err))
			return
		}
		src[f.Name] = "env " + name
	})

	if path != "" {
		file, err := readConfigFile(path)
		if err != nil {
			return nil, err
		}
		for _, kv := range file {
			f := fs.Lookup(kv.name)
			if f == nil || slices.Contains(notConfigurable, kv.name) {
				msg := fmt.Sprintf("%s:%d: unknown setting %q", path, kv.line, kv.name)
				if near := nearestFlag(fs, kv.name); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				errs = append(errs, errors.New(msg))
				continue
			}
			if src[kv.name] != "" {
				continue // the command line or the environment said otherwise
			}
			if err := fs.Set(kv.name, kv.value); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %v", path, kv.line, kv.name, err))
				continue
			}
			src[kv.name] = fmt.Sprintf("file %s:%d", path, kv.line)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	var out []setting
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(notConfigurable, f.Name) {
			return
		}
		s := src[f.Name]
		if s == "" {
			s = "default"
		}
		out = append(out, setting{name: f.Name, value: f.Value.String(), source: s})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// fileSetting is one key of a configuration file.
type fileSetting struct {
	name, value string
	line        int
}

// readConfigFile reads a YAML mapping of flag names to scalar values, in
// the file's order.
func readConfigFile(path string) ([]fileSetting, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config %s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty file: nothing set
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s:%d: want a mapping of settings (name: value)", path, m.Line)
	}
	var out []fileSetting
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("config %s:%d: %s: want a single value", path, v.Line, k.Value)
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("config %s:%d: %s set again (first on line %d)", path, k.Line, k.Value, prev)
		}
		seen[k.Value] = k.Line
		value := v.Value
		if v.Tag == "!!null" {
			value = ""
		}
		out = append(out, fileSetting{name: k.Value, value: value, line: k.Line})
	}
	return out, nil
}

// nearestFlag returns the flag of fs within two edits of name, or "".
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestD && !slices.Contains(notConfigurable, f.Name) {
			best, bestD = f.Name, d
		}
	})
	return best
}

// formatSettings writes settings as a configuration file that sets them
// all, each line saying where its value came from: what --check-config
// prints, and a starting point for a site's file.
func formatSettings(settings []setting) ([]byte, error) {
	var buf bytes.Buffer
	for _, s := range settings {
		line := s.name + ": " + s.value
		if needsQuotes(s.value) {
			b, err := yaml.Marshal(map[string]string{s.name: s.value})
			if err != nil {
				return nil, err
			}
			line = strings.TrimSuffix(string(b), "\n")
		}
		fmt.Fprintf(&buf, "%-40s # %s\n", line, s.source)
	}
	return buf.Bytes(), nil
}

// needsQuotes reports whether a value written bare would not read back
// as the same text. Numbers, booleans and durations need none: a file's
// values are read as text and given to the flag's parser.
func needsQuotes(v string) bool {
	return v == "" || strings.TrimSpace(v) != v || strings.ContainsAny(v, "#:\"'\n") ||
		strings.ContainsAny(v[:1], "[]{}&*!|>%@`,?-~")
}
