package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"integration-dr/dev/localstack"
	"integration-dr/replication"
)

// seedPrimary puts n generated control numbers on the primary.
func (s *stack) seedPrimary(n int) {
	for i := range n {
		s.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, fmt.Sprintf("Partner%05d-X12-Icn", i),
			localstack.ControlNumber("X12", int64(i+1), time.Now()))
	}
}

func throttled(s *stack) int {
	n := 0
	for _, ops := range s.arm.Stats(false) {
		n += ops["throttled"]
	}
	return n
}

// A first sync larger than a lease's share of ARM's write bucket: every run answers
// 200 and hands the next one its progress, and the watermark moves only at the end.
func TestAFirstSyncSpanningManyRunsAtARMsLimits(t *testing.T) {
	s := newStack(t, time.Minute, map[string]string{"DR_RUN_LEASE": "4s", "DR_CLOCK_SKEW": "500ms"})
	const sessions = 2500
	s.seedPrimary(sessions)
	var progress []int
	for run := 1; len(localstack.Differences(s.primary(), s.secondary())) > 0; run++ {
		if run > 12 {
			t.Fatalf("not converged after 12 runs; standby per run %v", progress)
		}
		r := s.tick()
		if r.Status != http.StatusOK {
			t.Fatalf("run %d answered %d %v", run, r.Status, r.Logs)
		}
		progress = append(progress, len(s.secondary()))
		if run > 1 && progress[run-1] <= progress[run-2] {
			t.Fatalf("run %d made no progress; standby per run %v", run, progress)
		}
		if done := stats(t, r)[0].ScanDone; !done && !s.checkpoint().Watermark.IsZero() {
			t.Fatalf("run %d moved the watermark before the sync completed", run)
		}
		s.checkInvariants()
	}
	if len(progress) < 3 {
		t.Fatalf("the sync took %d runs (%v): the test no longer spans runs", len(progress), progress)
	}
	if n := throttled(s); n > sessions/20 {
		t.Fatalf("%d requests answered 429 for %d writes: the client does not pace itself to ARM's buckets", n, sessions)
	}
	t.Logf("standby sessions after each run: %v; 429s: %d", progress, throttled(s))
}

func TestAStandbyThatWasUnreachableCatchesUp(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.seedPrimary(300)
	s.tick()
	s.requireConverged()
	s.arm.SetUnreachable(localstack.SecondaryGroup, localstack.SecondaryAcct, true)
	for i := range 400 {
		s.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, fmt.Sprintf("Partner%05d-X12-Icn", i%300),
			localstack.ControlNumber("X12", int64(1000+i), time.Now()))
	}
	r := s.tick()
	if logs := strings.Join(r.Logs, " "); r.Status != http.StatusInternalServerError || !strings.Contains(logs, "closed connections without answering") {
		t.Fatalf("a tick with the standby unreachable answered %d %v; want a failure naming the cause and the tries", r.Status, r.Logs)
	}
	if cp := s.checkpoint(); !strings.Contains(cp.LastError, "tries") {
		t.Fatalf("the failure is not recorded for the operator: last error %q", cp.LastError)
	}
	s.arm.SetUnreachable(localstack.SecondaryGroup, localstack.SecondaryAcct, false)
	ticks, checked := s.settle(5, 0)
	if cp := s.checkpoint(); cp.LastError != "" {
		t.Fatalf("after the catch-up the stream still reports %q", cp.LastError)
	}
	t.Logf("unreachable standby: %s; caught up in %d tick(s); %s", r.Logs[len(r.Logs)-1], ticks, checked)
}

func TestAnUnreachableARMEndpointIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close() // only its address is wanted: nothing listens there now
	s := newStack(t, time.Minute, map[string]string{"DR_ARM_ENDPOINT": closed})
	r := s.tick()
	if logs := strings.Join(r.Logs, " "); r.Status != http.StatusInternalServerError || !strings.Contains(logs, "refused connections") || !strings.Contains(logs, "tries") {
		t.Fatalf("ARM unreachable: %d %v; want a failure saying the endpoint refused connections, after how many tries", r.Status, r.Logs)
	}
	if cp := s.checkpoint(); !strings.Contains(cp.LastError, "refused connections") || cp.LeaseOwner != "" {
		t.Fatalf("checkpoint: last error %q, lease %q", cp.LastError, cp.LeaseOwner)
	}
}

// Lag is measured on the active side's service clock, whatever this machine's says.
func TestLagIsMeasuredOnTheServicesClock(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.arm.SetClockOffset(localstack.PrimaryGroup, localstack.PrimaryAcct, 10*time.Minute)
	s.seedPrimary(50)
	s.tick()
	s.requireConverged()
	st := s.status()
	if st.LagSeconds < 0 || st.LagSeconds > 30 {
		t.Fatalf("lag %.1fs with the primary's clock 10 minutes ahead of this machine's; want the few seconds it really is", st.LagSeconds)
	}
	if now := s.arm.ServiceNow(localstack.PrimaryGroup, localstack.PrimaryAcct); st.Watermark.After(now) {
		t.Fatalf("watermark %v is past the service's clock %v", st.Watermark, now)
	}
}

// status reads the Status function's view of the pair's stream.
func (s *stack) status() replication.StreamStatus {
	s.t.Helper()
	r, err := localstack.Invoke(s.ctx, s.handler.URL, "Status", []byte(`{"Data":{"req":{"Method":"GET","Url":"http://localhost/api/status"}},"Metadata":{}}`))
	if err != nil {
		s.t.Fatal(err)
	}
	var res struct {
		Body string `json:"body"`
	}
	_ = json.Unmarshal(r.Outputs["res"], &res)
	var body struct{ Streams []replication.StreamStatus }
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || len(body.Streams) != 1 {
		s.t.Fatalf("status body %q: %v", res.Body, err)
	}
	return body.Streams[0]
}
