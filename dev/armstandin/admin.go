package armstandin

import (
	"encoding/json"
	"net/http"
)

// admin serves the stand-in's own routes, which tests and the demo use to steer it
// from another process:
//
//	PUT  /_standin/faults          body: Faults
//	GET  /_standin/stats[?reset=1] request counts per account and operation
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_standin/faults" && r.Method == http.MethodPut:
		var f Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			http.Error(w, "bad faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_standin/stats" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats(r.URL.Query().Get("reset") == "1"))
	default:
		http.NotFound(w, r)
	}
}
