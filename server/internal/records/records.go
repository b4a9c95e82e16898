// Package records keeps small JSON records in a directory, one file
// each, <id>.json: written whole or not at all, and read back together
// when a store opens (webhooks, monitors).
package records

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cueprint/cueprint/server/internal/atomicfile"
)

// Write writes v as dir/<id>.json, whole or not at all, and durably.
func Write(dir, id string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, id+".json"), b, 0o600)
}

// Load decodes every dir/<id>.json (an id without a dot: other files
// beside them are theirs) into a T and calls fn with it; a file that
// cannot be read or decoded goes to bad instead.
func Load[T any](dir string, fn func(id string, v T), bad func(name string, err error)) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.Contains(id, ".") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		var v T
		if err == nil {
			err = json.Unmarshal(b, &v)
		}
		if err != nil {
			bad(e.Name(), fmt.Errorf("%s: %w", e.Name(), err))
			continue
		}
		fn(id, v)
	}
	return nil
}
