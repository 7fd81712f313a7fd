package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"integration-dr/overview"
)

// FuzzDecodeInvocation: no envelope, timer or metadata may panic the decoders.
func FuzzDecodeInvocation(f *testing.F) {
	f.Add([]byte(timerInvocation))
	f.Add([]byte(`{"Data":{"timer":{"ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"2026-11-21T10:01:00","LastUpdated":"0001-01-01T00:00:00"}}},"Metadata":{}}`))
	f.Add([]byte(`{"Data":{"command":"{\"action\":\"failover\"}"},"Metadata":{"DeliveryCount":"1","MessageId":"\"abc\"","sys":{"MethodName":"FailoverCommand"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := DecodeInvocation(body)
		if err != nil {
			return
		}
		for _, raw := range inv.Data {
			_, _ = DecodeTimer(raw)
			_, _ = DecodeMessageBody(raw)
		}
		m := Metadata(inv.Metadata)
		for k := range m {
			_ = m.String(k)
			_, _ = m.Int(k)
		}
	})
}

// FuzzDecodeMessageBody: a body that decodes as JSON text must come back unchanged
// when it is passed through as a JSON string once or twice.
func FuzzDecodeMessageBody(f *testing.F) {
	f.Add(`{"action":"failover","pair":"contoso-b2b"}`)
	f.Add(`"quoted"`)
	f.Add(`eyJhIjoxfQ==`)
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = DecodeMessageBody(json.RawMessage(body))
		// Only text survives a trip through a JSON string unchanged.
		if !utf8.ValidString(body) || !json.Valid([]byte(body)) || strings.HasPrefix(strings.TrimSpace(body), `"`) {
			return
		}
		once, _ := json.Marshal(body)
		twice, _ := json.Marshal(string(once))
		for _, enc := range [][]byte{once, twice} {
			got, err := DecodeMessageBody(enc)
			if err != nil || string(got) != body {
				t.Fatalf("body %q encoded as %s came back as %q (%v)", body, enc, got, err)
			}
		}
	})
}

// FuzzHandler: whatever is POSTed, the reply is a JSON object with a status the host
// understands, and the process survives.
func FuzzHandler(f *testing.F) {
	f.Add("/ReplicateSessions", []byte(timerInvocation))
	f.Add("/", []byte(``))
	f.Add("/ReplicateSessions", []byte(`{"Data":{"timer":[1,2]}}`))
	h := &Handler{Replicator: &replicator{}, Overview: overview.Sources{Streams: statusReader{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Second}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		req := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: path}, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply == nil {
			t.Fatalf("reply %q is not a JSON object", rec.Body.String())
		}
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
