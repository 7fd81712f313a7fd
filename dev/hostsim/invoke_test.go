package hostsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTimerPayloadVariants(t *testing.T) {
	last := time.Date(2026, 11, 20, 9, 0, 0, 7123400, time.UTC)
	tests := []struct {
		name     string
		schedule string
		status   TimerStatus
		want     string // Data.timer as the handler must receive it
	}{
		{
			name:     "monitored",
			schedule: "0 */5 * * * *",
			status:   TimerStatus{Last: last},
			want:     `{"IsPastDue":false,"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-20T09:00:00.0071234+00:00","LastUpdated":"2026-11-20T09:00:00.0071234+00:00","Next":"2026-11-20T09:05:00+00:00"}}`,
		},
		{
			name:     "first monitored run",
			schedule: "0 */5 * * * *",
			status:   TimerStatus{},
			want:     `{"IsPastDue":false,"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00","LastUpdated":"0001-01-01T00:00:00","Next":"2026-11-20T09:05:00+00:00"}}`,
		},
		{
			name:     "unmonitored, past due",
			schedule: "0 */5 * * * *",
			status:   TimerStatus{Unmonitored: true, IsPastDue: true},
			want:     `{"IsPastDue":true,"Schedule":{"AdjustForDST":true},"ScheduleStatus":null}`,
		},
		{
			name:     "sub-minute schedule is never monitored",
			schedule: "*/10 * * * * *",
			status:   TimerStatus{Last: last},
			want:     `{"IsPastDue":false,"Schedule":{"AdjustForDST":true},"ScheduleStatus":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := maps.Clone(testSettings)
			settings["TICK_SCHEDULE"] = tt.schedule
			app, err := Load(writeApp(t, testHostJSON, testFunctions), settings)
			if err != nil {
				t.Fatal(err)
			}
			fake := &fakeHandler{}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			h := New(app, srv.URL, Options{})

			res, err := h.Timer(context.Background(), "Tick", testNow, tt.status)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Success {
				t.Fatalf("invocation failed: %v", res.Err)
			}
			c := fake.last(t)
			if got := string(c.Inv.Data["timer"]); got != tt.want {
				t.Errorf("Data.timer\n got %s\nwant %s", got, tt.want)
			}
			var sys struct{ MethodName, UtcNow, RandGuid string }
			_ = json.Unmarshal(c.Inv.Metadata["sys"], &sys)
			if sys.MethodName != "Tick" || sys.UtcNow != "2026-11-20T09:01:30Z" || len(sys.RandGuid) != 36 {
				t.Errorf("Metadata.sys = %+v", sys)
			}
		})
	}
}

func TestEveryInvocationCarriesTheHostsRequestShape(t *testing.T) {
	h, fake := newTestHost(t, Options{})
	for range 2 {
		if _, err := h.Timer(context.Background(), "Tick", testNow, TimerStatus{}); err != nil {
			t.Fatal(err)
		}
	}
	calls := fake.Calls()
	for _, c := range calls {
		checks := map[string][2]string{
			"path":         {c.Path, "/Tick"},
			"Content-Type": {c.Header.Get("Content-Type"), "application/json; charset=utf-8"},
			"HostVersion":  {c.Header.Get("X-Azure-Functions-HostVersion"), DefaultHostVersion},
			"User-Agent":   {c.Header.Get("User-Agent"), "Azure-Functions-Host/" + DefaultHostVersion},
		}
		for what, gw := range checks {
			if gw[0] != gw[1] {
				t.Errorf("%s = %q, want %q", what, gw[0], gw[1])
			}
		}
		if len(c.Header.Get("X-Azure-Functions-InvocationId")) != 36 {
			t.Errorf("invocation id %q is not a GUID", c.Header.Get("X-Azure-Functions-InvocationId"))
		}
	}
	if calls[0].Header.Get("X-Azure-Functions-InvocationId") == calls[1].Header.Get("X-Azure-Functions-InvocationId") {
		t.Error("invocation ids repeat")
	}
}

// TestReplyRules: what the host counts as a failed invocation.
func TestReplyRules(t *testing.T) {
	tests := []struct {
		name    string
		reply   func(http.ResponseWriter, *http.Request, call)
		success bool
		errHas  string
	}{
		{"2xx JSON object", outputs(nil), true, ""},
		{"non-2xx", func(w http.ResponseWriter, _ *http.Request, _ call) {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"Logs": []string{"boom"}})
		}, false, "500"},
		{"2xx not JSON", func(w http.ResponseWriter, _ *http.Request, _ call) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("ok"))
		}, false, "not a JSON object"},
		{"2xx JSON array", func(w http.ResponseWriter, _ *http.Request, _ call) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[{"Outputs":{}}]`))
		}, false, "not a JSON object"},
		{"2xx JSON without content type (Go sniffs text/plain)", func(w http.ResponseWriter, _ *http.Request, _ call) {
			_, _ = w.Write([]byte(`{"Outputs":{},"Logs":[],"ReturnValue":null}`))
		}, false, "Content-Type"},
		{"connection closed mid-invocation", func(w http.ResponseWriter, _ *http.Request, _ call) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, false, "invoke Tick"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, Options{})
			fake.setReply(tt.reply)
			res, err := h.Timer(context.Background(), "Tick", testNow, TimerStatus{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Success != tt.success {
				t.Fatalf("Success = %v, want %v (err %v)", res.Success, tt.success, res.Err)
			}
			if tt.errHas != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errHas)) {
				t.Errorf("error %v does not mention %q", res.Err, tt.errHas)
			}
		})
	}
}

func TestInvocationTimeout(t *testing.T) {
	h, fake := newTestHost(t, Options{InvocationTimeout: 50 * time.Millisecond})
	fake.setReply(func(w http.ResponseWriter, r *http.Request, _ call) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	res, err := h.Timer(context.Background(), "Tick", testNow, TimerStatus{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Success || !errors.Is(res.Err, ErrTimeout) {
		t.Fatalf("want a timed-out failure, got success=%v err=%v", res.Success, res.Err)
	}
}

func TestSetURLFollowsARestartedHandler(t *testing.T) {
	h, first := newTestHost(t, Options{})
	second := &fakeHandler{}
	srv := httptest.NewServer(second)
	defer srv.Close()
	h.SetURL(srv.URL + "/")
	if h.URL() != srv.URL {
		t.Errorf("URL() = %q", h.URL())
	}
	if _, err := h.Timer(context.Background(), "Tick", testNow, TimerStatus{}); err != nil {
		t.Fatal(err)
	}
	if len(first.Calls()) != 0 || len(second.Calls()) != 1 {
		t.Errorf("calls: old %d, new %d", len(first.Calls()), len(second.Calls()))
	}
}

func TestHTTPRequestWrapping(t *testing.T) {
	alert := []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertRule":"r<1>"}}}`)
	blob := []byte{0x00, 0xff, 0x10, 'a'}
	tests := []struct {
		name string
		req  Request
		want map[string]string // Data.req fields, as JSON
		skip []string          // fields that must be absent
	}{
		{
			name: "JSON body, repeated query and header values",
			req: Request{
				Method:  "post",
				URL:     "/api/alerts?code=k&x=1&x=2",
				Headers: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-Multi": {"a", "b"}},
				Body:    alert,
			},
			want: map[string]string{
				"Url":        `"http://localhost:7071/api/alerts?code=k&x=1&x=2"`,
				"Method":     `"POST"`,
				"Query":      `{"code":"k","x":"1,2"}`,
				"Headers":    `{"Content-Length":["` + strconv.Itoa(len(alert)) + `"],"Content-Type":["application/json; charset=utf-8"],"Host":["localhost:7071"],"X-Multi":["a","b"]}`,
				"Params":     `{}`,
				"Identities": `[]`,
				"Body":       mustJSON(t, string(alert)),
			},
		},
		{
			name: "octet-stream body is base64",
			req:  Request{Method: "POST", URL: "/api/alerts", Headers: http.Header{"Content-Type": {"application/octet-stream"}}, Body: blob},
			want: map[string]string{"Body": mustJSON(t, base64.StdEncoding.EncodeToString(blob)), "Query": `{}`},
		},
		{
			name: "empty body is absent",
			req:  Request{Method: "POST"}, // URL defaults to the function's route
			want: map[string]string{"Url": `"http://localhost:7071/api/alerts"`},
			skip: []string{"Body"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, Options{})
			if _, err := h.HTTP(context.Background(), "Intake", tt.req); err != nil {
				t.Fatal(err)
			}
			c := fake.last(t)
			if c.Path != "/Intake" {
				t.Errorf("posted to %s", c.Path)
			}
			var req map[string]json.RawMessage
			if err := json.Unmarshal(c.Inv.Data["req"], &req); err != nil {
				t.Fatalf("Data.req: %v", err)
			}
			for k, want := range tt.want {
				if got := string(req[k]); got != want {
					t.Errorf("Data.req.%s\n got %s\nwant %s", k, got, want)
				}
			}
			for _, k := range tt.skip {
				if _, ok := req[k]; ok {
					t.Errorf("Data.req.%s present: %s", k, req[k])
				}
			}
			var md struct {
				Query   map[string]string
				Headers map[string]string
				Sys     struct{ MethodName string } `json:"sys"`
			}
			if err := json.Unmarshal(mustMarshal(t, c.Inv.Metadata), &md); err != nil {
				t.Fatal(err)
			}
			if md.Sys.MethodName != "Intake" || md.Headers["Host"] != "localhost:7071" {
				t.Errorf("Metadata = %s", mustMarshal(t, c.Inv.Metadata))
			}
			if tt.req.Headers.Get("X-Multi") != "" && md.Headers["X-Multi"] != "a,b" {
				t.Errorf("Metadata.Headers flattens values: %q", md.Headers["X-Multi"])
			}
		})
	}
}

func TestHTTPResponses(t *testing.T) {
	tests := []struct {
		name       string
		reply      func(http.ResponseWriter, *http.Request, call)
		status     int
		body       string
		header     [2]string // name, value expected on the response
		queued     int       // messages on the command queue afterwards
		invocation bool      // whether the host counts the invocation as successful
	}{
		{
			name: "res with number status and string body; outbox sent",
			reply: outputs(map[string]any{
				"res":    map[string]any{"statusCode": 202, "body": `{"accepted":true}`, "headers": map[string]string{"Content-Type": "application/json"}},
				"outbox": map[string]any{"action": "failover"},
			}),
			status: 202, body: `{"accepted":true}`, header: [2]string{"Content-Type", "application/json"}, queued: 1, invocation: true,
		},
		{
			name:   "status as a string, body as a JSON value",
			reply:  outputs(map[string]any{"res": map[string]any{"statusCode": "201", "body": map[string]any{"id": 7}}}),
			status: 201, body: `{"id":7}`, header: [2]string{"Content-Type", "application/json; charset=utf-8"}, invocation: true,
		},
		{
			name:   "missing res answers 200 {}",
			reply:  outputs(map[string]any{"outbox": []any{map[string]any{"a": 1}, map[string]any{"a": 2}}}),
			status: 200, body: `{}`, queued: 2, invocation: true,
		},
		{
			name: "non-2xx: 500 and outputs dropped",
			reply: func(w http.ResponseWriter, _ *http.Request, _ call) {
				writeJSON(w, http.StatusBadRequest, map[string]any{"Outputs": map[string]any{
					"res":    map[string]any{"statusCode": 400, "body": "bad alert"},
					"outbox": map[string]any{"action": "failover"},
				}})
			},
			status: 500, body: "",
		},
		{
			name: "2xx that is not JSON: 500",
			reply: func(w http.ResponseWriter, _ *http.Request, _ call) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = w.Write([]byte("done"))
			},
			status: 500,
		},
		{
			name:   "res that is not an object: 500, outputs dropped",
			reply:  outputs(map[string]any{"res": "hello", "outbox": map[string]any{"a": 1}}),
			status: 500,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, Options{})
			fake.setReply(tt.reply)
			resp, err := h.HTTP(context.Background(), "Intake", Request{Method: "POST", URL: "/api/alerts", Body: []byte("{}")})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || (tt.body != "" && string(resp.Body) != tt.body) {
				t.Errorf("response %d %q, want %d %q", resp.StatusCode, resp.Body, tt.status, tt.body)
			}
			if tt.header[0] != "" && resp.Header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s = %q, want %q", tt.header[0], resp.Header.Get(tt.header[0]), tt.header[1])
			}
			if got := len(h.Messages("commands")); got != tt.queued {
				t.Errorf("%d messages queued, want %d", got, tt.queued)
			}
			if resp.Result.Success != tt.invocation {
				t.Errorf("invocation success = %v, want %v (%v)", resp.Result.Success, tt.invocation, resp.Result.Err)
			}
		})
	}
}

func TestHTTPRoutingAnswersWithoutInvoking(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		req    Request
		want   error
		status int
	}{
		{"method not allowed", Options{}, Request{Method: "GET", URL: "/api/alerts"}, ErrMethodNotAllowed, 404},
		{"other route", Options{}, Request{Method: "POST", URL: "/api/other"}, ErrNotFound, 404},
		{"no route prefix", Options{}, Request{Method: "POST", URL: "/alerts"}, ErrNotFound, 404},
		{"missing key", Options{FunctionKey: "fk"}, Request{Method: "POST", URL: "/api/alerts"}, ErrUnauthorized, 401},
		{"wrong key", Options{FunctionKey: "fk"}, Request{Method: "POST", URL: "/api/alerts?code=nope"}, ErrUnauthorized, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, tt.opts)
			resp, err := h.HTTP(context.Background(), "Intake", tt.req)
			if !errors.Is(err, tt.want) || resp.StatusCode != tt.status {
				t.Errorf("got %d, %v; want %d, %v", resp.StatusCode, err, tt.status, tt.want)
			}
			if n := len(fake.Calls()); n != 0 {
				t.Errorf("handler invoked %d times", n)
			}
		})
	}
	h, _ := newTestHost(t, Options{FunctionKey: "fk"})
	for _, req := range []Request{
		{Method: "POST", URL: "/API/Alerts?code=fk"},
		{Method: "POST", URL: "/api/alerts", Headers: http.Header{"X-Functions-Key": {"fk"}}},
	} {
		if resp, err := h.HTTP(context.Background(), "Intake", req); err != nil || resp.StatusCode != 200 {
			t.Errorf("%+v: %d %v", req, resp.StatusCode, err)
		}
	}
}

func TestQueueOutputValues(t *testing.T) {
	tests := []struct {
		name   string
		value  any
		bodies []string
	}{
		{"array: one message per element", []any{map[string]any{"n": 1}, "two", 3}, []string{"{\n  \"n\": 1\n}", "two", "3"}},
		{"object: one message, indented JSON", map[string]any{"action": "failover", "pair": "p"}, []string{"{\n  \"action\": \"failover\",\n  \"pair\": \"p\"\n}"}},
		{"string: that string", "fail over now", []string{"fail over now"}},
		{"string that is valid base64: decoded to bytes", "aGVsbG8=", []string{"hello"}},
		{"null: nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, Options{})
			fake.setReply(outputs(map[string]any{"outbox": tt.value}))
			if _, err := h.HTTP(context.Background(), "Intake", Request{Method: "POST"}); err != nil {
				t.Fatal(err)
			}
			msgs := h.Messages("commands")
			if len(msgs) != len(tt.bodies) {
				t.Fatalf("%d messages, want %d", len(msgs), len(tt.bodies))
			}
			ids := map[string]bool{}
			for i, m := range msgs {
				if string(m.Body) != tt.bodies[i] {
					t.Errorf("message %d body %q, want %q", i, m.Body, tt.bodies[i])
				}
				if m.ContentType != "text/plain" || len(m.MessageID) != 32 || ids[m.MessageID] {
					t.Errorf("message %d: content type %q, id %q", i, m.ContentType, m.MessageID)
				}
				ids[m.MessageID] = true
			}
		})
	}
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
