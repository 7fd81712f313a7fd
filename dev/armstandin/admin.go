package armstandin

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// admin serves the stand-in's own routes, which tests and the demo use to steer it
// from another process. They are not ARM: no token, no limits, no faults.
//
//	PUT  /_standin/faults          body: Faults
//	PUT  /_standin/limits          body: Limits
//	PUT  /_standin/unreachable     body: {"group", "account", "unreachable": bool}
//	PUT  /_standin/clock           body: {"group", "account", "offset": "-90s"}
//	GET  /_standin/stats[?reset=1] request counts per account and operation
//	GET  /_standin/content/{token}?sig=...  a schema's or map's content link (artifacts.go)
//
// An empty account means the whole resource group, as in SetUnreachable and
// SetClockOffset.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	put := r.Method == http.MethodPut
	switch {
	case strings.HasPrefix(r.URL.Path, "/_standin/content/"):
		s.serveContent(w, r) // content links: not ARM, and not the admin's either
	case r.URL.Path == "/_standin/faults" && put:
		if f, ok := decode[Faults](w, r); ok {
			s.SetFaults(f)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/limits" && put:
		if l, ok := decode[Limits](w, r); ok {
			s.SetLimits(l)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/unreachable" && put:
		if b, ok := decode[struct {
			Group, Account string
			Unreachable    bool
		}](w, r); ok {
			s.SetUnreachable(b.Group, b.Account, b.Unreachable)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/clock" && put:
		b, ok := decode[struct{ Group, Account, Offset string }](w, r)
		if !ok {
			return
		}
		d, err := time.ParseDuration(b.Offset)
		if err != nil {
			http.Error(w, "bad offset: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.SetClockOffset(b.Group, b.Account, d)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_standin/stats" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats(r.URL.Query().Get("reset") == "1"))
	default:
		http.NotFound(w, r)
	}
}

// decode reads a small JSON body, or answers 400.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var v T
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&v); err != nil {
		http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
		return v, false
	}
	return v, true
}
