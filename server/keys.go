package server

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/cueprint/cueprint/server/api"
	"github.com/cueprint/cueprint/server/auth"
)

func keyJSON(k auth.Key) api.Key {
	return api.Key{ID: k.ID, Role: string(k.Role), Tenant: k.Tenant, Name: k.Name, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func (s *Server) postKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req api.KeyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, codeBadRequest, "body: want {\"role\": ..., \"tenant\": ...}: %v", err)
	}
	k, secret, err := s.keys.Create(auth.Role(req.Role), req.Tenant, req.Name)
	if err != nil {
		return err
	}
	c.log.Info("key created", "new_key_id", k.ID, "role", k.Role)
	writeJSON(w, http.StatusCreated, api.NewKey{Key: keyJSON(k), Secret: secret})
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, _ *call) error {
	keys, err := s.keys.List()
	if err != nil {
		return err
	}
	out := api.KeyList{Keys: []api.Key{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, keyJSON(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, c *call) error {
	k, err := s.keys.Revoke(r.PathValue("id"))
	if err != nil {
		return err
	}
	c.log.Info("key revoked", "revoked_key_id", k.ID)
	writeJSON(w, http.StatusOK, keyJSON(k))
	return nil
}
