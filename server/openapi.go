package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 document. TestOpenAPIMatchesRoutes keeps
// it in step with routeTable and the api package's shapes.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) getOpenAPI(w http.ResponseWriter, _ *http.Request, _ *call) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}
