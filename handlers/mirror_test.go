package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
)

// actionRunner takes drift and mirror commands of the pairs it owns.
type actionRunner struct{ pairRunner }

func (a *actionRunner) Handles(act command.Action) bool {
	return act == command.Mirror || act == command.Drift
}

// Drift and mirror commands go to the mirror's runner, journaled apart from the
// plans; every other command to the runner that owns its pair.
func TestMirrorCommandsGoToTheMirrorsRunner(t *testing.T) {
	tests := []struct {
		body       string
		wantMirror bool
	}{
		{`{"id":"m-1","action":"mirror","pair":"contoso-b2b","prune":true}`, true},
		{`{"id":"d-1","action":"drift","pair":"contoso-ssis"}`, true},
		{`{"id":"f-1","action":"failover","pair":"contoso-b2b"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			ia := &pairRunner{pair: "contoso-b2b"}
			mr := &actionRunner{pairRunner{pair: "contoso-b2b"}}
			mr2 := &actionRunner{pairRunner{pair: "contoso-ssis"}}
			// The mirror's runners come last: they own the pairs too.
			h := &Handler{Operations: ByPair{ia, &pairRunner{pair: "contoso-ssis"}, mr, mr2}, KnownPair: func(p string) bool { return p == "contoso-b2b" || p == "contoso-ssis" }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
			inv, _ := json.Marshal(map[string]any{"Data": map[string]any{"command": tt.body}, "Metadata": map[string]any{"MessageId": "m"}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FnRunCommand, strings.NewReader(string(inv))))
			got := len(mr.got) + len(mr2.got)
			if rec.Code != http.StatusOK || (got == 1) != tt.wantMirror || (len(ia.got) == 1) == tt.wantMirror {
				t.Fatalf("status %d; the mirror's runners got %d, the plans' %d", rec.Code, got, len(ia.got))
			}
		})
	}
}
