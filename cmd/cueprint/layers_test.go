package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// module is this module's path.
const module = "github.com/cueprint/cueprint/"

// layers ranks the top-level directories: data flows one way, media ->
// fingerprint -> index, match -> server, corpus -> cmd. A package may
// import packages of lower layers, and packages of its own directory (the
// server imports server/api); never a higher layer, nor a neighbour of
// its own layer (the server never imports corpus, match never index's
// callers).
var layers = map[string]int{
	"fingerprint/media":    0,
	"fingerprint/spectrum": 0,
	"fingerprint":          1,
	"index":                2,
	"match":                3,
	"server":               4,
	"corpus":               4,
	"cmd":                  5,
}

// cgoOwners may use cgo; goAstiavOwner alone may import go-astiav (the
// rest of the code sees plain Go values: PCM, luma planes, durations).
var (
	cgoOwners     = map[string]bool{"fingerprint/media": true, "fingerprint/spectrum": true, "fingerprint": true}
	goAstiavOwner = "fingerprint/media"
)

// family returns the layer key of a package (relative to the module): the
// longest key of layers it lies under, and its rank.
func family(rel string) (string, int, bool) {
	best, rank, ok := "", 0, false
	for k, r := range layers {
		if (rel == k || strings.HasPrefix(rel, k+"/")) && len(k) > len(best) {
			best, rank, ok = k, r, true
		}
	}
	return best, rank, ok
}

type goPackage struct {
	ImportPath string
	Imports    []string
	CgoFiles   []string
}

// TestLayers fails when a package imports upward or sideways, or uses cgo
// or go-astiav outside the packages that own them (the pattern of
// Pebble's TestForbiddenImports).
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "../../...").Output()
	require.NoError(t, err, "go list")
	dec := json.NewDecoder(bytes.NewReader(out))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	for _, v := range checkLayers(pkgs) {
		t.Error(v)
	}
}

// checkLayers returns every violation of the rules above.
func checkLayers(pkgs []goPackage) []string {
	var bad []string
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module)
		fam, rank, ok := family(rel)
		if !ok {
			bad = append(bad, rel+": in no layer (add its directory to layers)")
			continue
		}
		if len(p.CgoFiles) > 0 && !cgoOwners[fam] && !cgoOwners[rel] {
			bad = append(bad, rel+": uses cgo ("+strings.Join(p.CgoFiles, ", ")+"); only "+strings.Join(slices.Sorted(maps.Keys(cgoOwners)), ", ")+" may")
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/asticode/go-astiav") && rel != goAstiavOwner {
				bad = append(bad, rel+": imports go-astiav; only "+goAstiavOwner+" may")
			}
			if !strings.HasPrefix(imp, module) {
				continue
			}
			irel := strings.TrimPrefix(imp, module)
			ifam, irank, ok := family(irel)
			switch {
			case !ok:
				bad = append(bad, rel+" imports "+irel+", which is in no layer")
			case ifam == fam, irank < rank:
			default:
				bad = append(bad, rel+" imports "+irel+": an import upward or sideways")
			}
		}
	}
	return bad
}

// TestCheckLayersCatches: the check finds a deliberate upward import, a
// sideways one, cgo and go-astiav where they do not belong.
func TestCheckLayersCatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkg  goPackage
	}{
		{"index imports match", goPackage{ImportPath: module + "index", Imports: []string{module + "match"}}},
		{"fingerprint imports server/api", goPackage{ImportPath: module + "fingerprint", Imports: []string{module + "server/api"}}},
		{"server imports corpus", goPackage{ImportPath: module + "server", Imports: []string{module + "corpus/degrade"}}},
		{"match uses cgo", goPackage{ImportPath: module + "match", CgoFiles: []string{"x.go"}}},
		{"index imports go-astiav", goPackage{ImportPath: module + "index", Imports: []string{"github.com/asticode/go-astiav"}}},
		{"a package in no layer", goPackage{ImportPath: module + "util"}},
	} {
		require.NotEmpty(t, checkLayers([]goPackage{tc.pkg}), tc.name)
	}
	require.Empty(t, checkLayers([]goPackage{
		{ImportPath: module + "server", Imports: []string{module + "server/api", module + "match", module + "index", "net/http"}},
		{ImportPath: module + "fingerprint", Imports: []string{module + "fingerprint/media"}, CgoFiles: []string{"column.go"}},
	}))
}
