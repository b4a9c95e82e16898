package server

import "github.com/cueprint/cueprint/server/auth"

// RouteInfo describes a route for tests.
type RouteInfo struct {
	Method, Path string
	Roles        []string // nil: open
}

// Routes lists the API's routes.
func Routes() []RouteInfo {
	var s Server
	var out []RouteInfo
	for _, rt := range s.routeTable(nil) {
		ri := RouteInfo{Method: rt.method, Path: rt.path}
		for _, r := range rt.roles {
			ri.Roles = append(ri.Roles, string(r))
		}
		out = append(out, ri)
	}
	return out
}

var _ = auth.Admin
