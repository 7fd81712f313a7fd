package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/alert"
	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
)

// replicator is a test double that records calls and answers as told.
type replicator struct {
	calls int
	stats []replication.Stats
	err   error
	panic bool
}

var _ Replicator = (*replicator)(nil)

func (r *replicator) ReplicateAll(context.Context) ([]replication.Stats, error) {
	r.calls++
	if r.panic {
		panic("boom")
	}
	return r.stats, r.err
}

const timerInvocation = `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"ReplicateSessions"}}}`

func TestHandlerReplies(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		rep        replicator
		wantStatus int
		wantCalls  int
		wantLog    string
	}{
		{"the readiness probe is answered", "GET", "/", "", replicator{}, 200, 0, ""},
		{"a timer tick runs replication", "POST", "/ReplicateSessions", timerInvocation, replicator{stats: []replication.Stats{{Pair: "p", Scan: replication.ScanIncremental, ScanDone: true, Writes: 3}}}, 200, 1, "pair p: incremental scan, listed 0, wrote 3"},
		{"a scan that outlasts the lease is progress, not failure", "POST", "/ReplicateSessions", timerInvocation, replicator{stats: []replication.Stats{{Pair: "p", Scan: replication.ScanFull, ScanListed: 4000}}}, 200, 1, "scan continues next run (4000 listed so far)"},
		{"one throttled pair does not hide another's failure", "POST", "/ReplicateSessions", timerInvocation,
			replicator{err: errors.Join(fmt.Errorf("pair a: %w", drerr.Errorf(drerr.Throttled, "list", "429")), fmt.Errorf("pair b: %w", drerr.Errorf(drerr.Unavailable, "get", "the endpoint refused connections (5 tries)")))},
			500, 1, "pair b: get: the endpoint refused connections (5 tries)"},
		{"every pair throttled is still not a failure", "POST", "/ReplicateSessions", timerInvocation,
			replicator{err: errors.Join(fmt.Errorf("pair a: %w", drerr.Errorf(drerr.Throttled, "list", "429")), fmt.Errorf("pair b: %w", drerr.Errorf(drerr.Throttled, "put", "429")))},
			200, 1, "pair b: put: 429"},
		{"a throttled pair whose checkpoint commit failed is a failure, not throttling", "POST", "/ReplicateSessions", timerInvocation,
			replicator{err: errors.Join(fmt.Errorf("pair a: %w", errors.Join(drerr.Errorf(drerr.Throttled, "put", "429"), &replication.CommitError{Err: drerr.Errorf(drerr.Throttled, "save", "503 from the table")})))},
			500, 1, "replication run not recorded in its checkpoint: pair a: put: 429"},
		{"a pair failing beside its own throttling is a failure", "POST", "/ReplicateSessions", timerInvocation,
			replicator{err: errors.Join(fmt.Errorf("pair a: %w", errors.Join(drerr.Errorf(drerr.Throttled, "list", "429"), drerr.Errorf(drerr.Unavailable, "save", "store down"))))},
			500, 1, "replication failed: pair a: list: 429"},
		{"a failed run answers 500 with the reason", "POST", "/ReplicateSessions", timerInvocation, replicator{err: errors.New("standby unreachable")}, 500, 1, "standby unreachable"},
		{"ARM throttling is not a failure", "POST", "/ReplicateSessions", timerInvocation, replicator{err: drerr.Errorf(drerr.Throttled, "list", "429")}, 200, 1, "next tick resumes"},
		{"a panic becomes a 500, not a crash", "POST", "/ReplicateSessions", timerInvocation, replicator{panic: true}, 500, 1, "internal error"},
		{"a body that is not JSON changes nothing", "POST", "/ReplicateSessions", `not json`, replicator{}, 400, 0, "not a JSON object"},
		{"odd timer data still runs: state comes from checkpoints", "POST", "/ReplicateSessions", `{"Data":{"timer":"??"}}`, replicator{}, 200, 1, ""},
		{"an oversized invocation is refused", "POST", "/ReplicateSessions", `{"Data":{"timer":"` + strings.Repeat("x", maxBody) + `"}}`, replicator{}, 413, 0, "larger than"},
		{"an unknown function is a 404", "POST", "/Nope", `{}`, replicator{}, 404, 0, "no function"},
		{"GET on a function is a 404", "GET", "/ReplicateSessions", ``, replicator{}, 404, 0, "no function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Replicator: &tt.rep, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var reply struct {
				Outputs     map[string]any
				Logs        []string
				ReturnValue any
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.Outputs == nil || reply.Logs == nil {
				t.Fatalf("reply is not the host's JSON object: %q (%v)", rec.Body.String(), err)
			}
			if tt.rep.calls != tt.wantCalls {
				t.Errorf("replication ran %d times, want %d", tt.rep.calls, tt.wantCalls)
			}
			if tt.wantLog != "" && !strings.Contains(strings.Join(reply.Logs, "\n"), tt.wantLog) {
				t.Errorf("Logs %q lack %q", reply.Logs, tt.wantLog)
			}
		})
	}
}

// The reply must always be a JSON object the host can read, whatever came in.
func TestHandlerNeverPanicsOnGarbage(t *testing.T) {
	h := &Handler{Replicator: &replicator{}, Overview: overview.Sources{Streams: statusReader{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Second}
	for _, body := range []string{``, `{`, `null`, `[]`, `{"Data":null}`, `{"Data":{"timer":null},"Metadata":[]}`, "\x00\xff", `{"Data":{"timer":{"ScheduleStatus":{"Last":123}}}}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ReplicateSessions", strings.NewReader(body)))
		if !json.Valid(rec.Body.Bytes()) {
			t.Errorf("body %q: reply %q is not JSON", body, rec.Body.String())
		}
	}
}

type statusReader struct {
	streams []replication.StreamStatus
	err     error
}

func (s statusReader) Status(context.Context) ([]replication.StreamStatus, error) {
	return s.streams, s.err
}

func TestStatusAnswersThroughTheHTTPOutputBinding(t *testing.T) {
	const httpInvocation = `{"Data":{"req":{"Url":"https://app.example/api/status","Method":"GET","Query":{},"Headers":{"Accept":["application/json"]},"Params":{},"Body":null}},"Metadata":{}}`
	tests := []struct {
		name       string
		status     statusReader
		wantStatus float64
		wantBody   string
	}{
		{"streams are listed with their lag", statusReader{streams: []replication.StreamStatus{{Pair: "contoso-b2b", LagSeconds: 4.5}}}, 200, `"lagSeconds":4.5`},
		{"a store outage is a 503 to the caller", statusReader{err: errors.New("table unreachable")}, 503, "table unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Overview: overview.Sources{Streams: tt.status}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Second}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Status", strings.NewReader(httpInvocation)))
			var reply struct {
				Outputs struct {
					Res struct {
						StatusCode float64           `json:"statusCode"`
						Body       string            `json:"body"`
						Headers    map[string]string `json:"headers"`
					} `json:"res"`
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("invocation reply %d %q", rec.Code, rec.Body.String())
			}
			res := reply.Outputs.Res
			if res.StatusCode != tt.wantStatus || !strings.Contains(res.Body, tt.wantBody) || res.Headers["Content-Type"] != "application/json" {
				t.Fatalf("res = %+v, want status %v and a body with %q", res, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// operations records what the handler asks of the plans.
type operations struct {
	rejected, proposed []command.Command
}

func (o *operations) Submit(_ context.Context, c command.Command, _ journal.Source, _ time.Time) (journal.Operation, error) {
	return journal.Operation{ID: c.ID, Pair: c.Pair, Action: c.Action, Status: journal.Succeeded}, nil
}
func (o *operations) Propose(_ context.Context, c command.Command, _ journal.Source, _ time.Time) (journal.Operation, error) {
	o.proposed = append(o.proposed, c)
	return journal.Operation{ID: c.ID, Pair: c.Pair, Status: journal.Proposed}, nil
}
func (o *operations) Reject(_ context.Context, c command.Command, _ journal.Source, why string) (journal.Operation, error) {
	o.rejected = append(o.rejected, c)
	return journal.Operation{ID: c.ID, Pair: c.Pair, Status: journal.Rejected, Error: why}, nil
}
func (o *operations) Advance(context.Context) ([]journal.Operation, error) { return nil, nil }

func TestAResolvedAlertIsJournaledUnderAnotherIDThanTheFailoverItFollows(t *testing.T) {
	ops := &operations{}
	rules, err := alert.ParseRules(`{"rules":[{"ruleId":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/metricAlerts/ia-down","pair":"p","action":"failover","mode":"auto","targets":["/subscriptions/s"]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Operations: ops, KnownPair: func(string) bool { return true }, AlertRules: rules, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	post := func(condition string) Reply {
		a := `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a1","alertRule":"ia-down","alertTargetIDs":["/subscriptions/s"],"severity":"Sev1","monitorCondition":"` + condition + `","firedDateTime":"2026-11-20T09:00:00Z"}}}`
		req, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{"Method": "POST", "Body": a}}})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FnAlertIntake, strings.NewReader(string(req))))
		var r Reply
		_ = json.Unmarshal(rec.Body.Bytes(), &r)
		return r
	}
	post("Resolved")
	fired := post("Fired")
	var queued command.Command
	raw, _ := json.Marshal(fired.Outputs["command"])
	if err := json.Unmarshal(raw, &queued); err != nil || queued.ID == "" {
		t.Fatalf("the Fired alert queued %s (%v)", raw, err)
	}
	if len(ops.rejected) != 1 || ops.rejected[0].ID == queued.ID {
		t.Fatalf("the Resolved notice was journaled as %+v, the failover queued as %s: one would stand in for the other", ops.rejected, queued.ID)
	}
}

// pairRunner owns one pair and records the commands it is given.
type pairRunner struct {
	operations
	pair string
	got  []command.Command
}

func (p *pairRunner) Owns(pair string) bool { return pair == p.pair }
func (p *pairRunner) Submit(ctx context.Context, c command.Command, src journal.Source, at time.Time) (journal.Operation, error) {
	p.got = append(p.got, c)
	return p.operations.Submit(ctx, c, src, at)
}

// A cancel goes, like every command, to the runner that owns its pair: the SSIS
// runner for an SSIS pair's operation, which releases its own holds.
func TestACancelGoesToTheRunnerOfItsPair(t *testing.T) {
	ia, ssisRunner := &pairRunner{pair: "contoso-b2b"}, &pairRunner{pair: "contoso-ssis"}
	h := &Handler{Operations: ByPair{ia, ssisRunner}, KnownPair: func(p string) bool { return p == "contoso-b2b" || p == "contoso-ssis" }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	body := `{"id":"cancel-1","action":"cancel","pair":"contoso-ssis","target":"ssis-1","reason":"rebuilt","force":true}`
	inv, _ := json.Marshal(map[string]any{"Data": map[string]any{"command": body}, "Metadata": map[string]any{"MessageId": "m-1"}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FnRunCommand, strings.NewReader(string(inv))))
	if rec.Code != http.StatusOK || len(ssisRunner.got) != 1 || len(ia.got) != 0 {
		t.Fatalf("status %d; the SSIS runner got %+v, the other %+v", rec.Code, ssisRunner.got, ia.got)
	}
	if c := ssisRunner.got[0]; c.Action != command.Cancel || c.Target != "ssis-1" || !c.Force || c.Reason != "rebuilt" {
		t.Errorf("routed %+v", c)
	}
}
