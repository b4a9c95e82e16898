package events

import (
	"fmt"
	"slices"
	"strings"
)

// Filter selects events: those of one of Types (all when empty) about
// one of Monitors (all when empty) of Tenant (every tenant's when All).
type Filter struct {
	Types    []string `json:"types,omitempty"`
	Monitors []string `json:"monitors,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	All      bool     `json:"all_tenants,omitempty"`
}

// Validate checks the filter's types.
func (f Filter) Validate() error {
	for _, t := range f.Types {
		if !slices.Contains(Types, t) {
			return fmt.Errorf("event type %q: want one of %s", t, strings.Join(Types, ", "))
		}
	}
	return nil
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	return (f.All || e.Tenant == f.Tenant) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, e.Type)) &&
		(len(f.Monitors) == 0 || slices.Contains(f.Monitors, e.Monitor))
}
