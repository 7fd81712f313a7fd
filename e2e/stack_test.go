// Package e2e runs the real handler binary, driven with the Functions host's wire
// format, against Azurite and the ARM stand-in.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"integration-dr/azure/tables"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
	"integration-dr/replication"
	"integration-dr/session"
)

// binDir holds the handler binary, built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drhandler")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir) // a temporary directory; the tests have passed or failed already
	os.Exit(code)
}

var (
	buildOnce  sync.Once
	handlerBin string
	buildErr   error
)

// stack is one test's local Azure: Azurite, the stand-in, and the handler binary.
type stack struct {
	t       *testing.T
	ctx     context.Context
	azurite *localstack.Azurite
	arm     *armstandin.Server
	armURL  string
	env     map[string]string
	handler *localstack.Handler
	logs    *syncBuffer
}

func newStack(t *testing.T, overlap time.Duration, extraEnv map[string]string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped in -short mode")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	buildOnce.Do(func() { handlerBin, buildErr = localstack.BuildHandler(ctx, binDir) })
	if buildErr != nil {
		t.Fatalf("build handler: %v", buildErr)
	}
	az := localstack.AzuriteForTest(t)
	arm := armstandin.New()
	// ARM's buckets stay on, time-compressed like the leases.
	arm.SetLimits(armstandin.ARMLimits(localstack.TestTimeScale))
	// Each region's service has its own clock, neither of them this machine's.
	arm.SetClockOffset(localstack.PrimaryGroup, localstack.PrimaryAcct, 3*time.Second)
	arm.SetClockOffset(localstack.SecondaryGroup, localstack.SecondaryAcct, -2*time.Second)
	armURL, err := arm.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	env := localstack.HandlerEnv(az.ConnectionString(), armURL, overlap)
	env["DR_RUN_LEASE"] = "10s"
	maps.Copy(env, localstack.BudgetEnv(localstack.TestTimeScale))
	for k, v := range extraEnv {
		env[k] = v
	}
	s := &stack{t: t, ctx: ctx, azurite: az, arm: arm, armURL: armURL, env: env, logs: &syncBuffer{}}
	s.start()
	t.Cleanup(func() {
		if s.handler != nil && !s.handler.Exited() {
			s.handler.Kill()
		}
		if t.Failed() {
			t.Logf("handler log:\n%s", s.logs.String())
		}
	})
	return s
}

func (s *stack) start() {
	s.t.Helper()
	h, err := localstack.StartHandler(s.ctx, handlerBin, s.env, s.logs)
	if err != nil {
		s.t.Fatalf("start handler: %v\n%s", err, s.logs.String())
	}
	s.handler = h
}

// tick invokes the replication function as the host's timer would.
func (s *stack) tick() localstack.Reply {
	s.t.Helper()
	now := time.Now().UTC()
	r, err := localstack.Invoke(s.ctx, s.handler.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, now.Add(-time.Minute), now))
	if err != nil {
		s.t.Fatalf("invoke: %v", err)
	}
	return r
}

// stats decodes the per-pair stats a tick returned.
func stats(t *testing.T, r localstack.Reply) []replication.Stats {
	t.Helper()
	var out []replication.Stats
	if err := json.Unmarshal(r.ReturnValue, &out); err != nil {
		t.Fatalf("ReturnValue %s: %v", r.ReturnValue, err)
	}
	return out
}

func (s *stack) primary() map[string]json.RawMessage {
	return s.arm.Sessions(localstack.PrimaryGroup, localstack.PrimaryAcct)
}

func (s *stack) secondary() map[string]json.RawMessage {
	return s.arm.Sessions(localstack.SecondaryGroup, localstack.SecondaryAcct)
}

func (s *stack) requireConverged() {
	s.t.Helper()
	if d := localstack.Differences(s.primary(), s.secondary()); len(d) > 0 {
		s.t.Fatalf("secondary differs from primary in %d sessions, e.g. %v", len(d), d[:min(5, len(d))])
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls cond until it holds, failing the test after timeout: tests wait on
// what they need to see, never on a fixed sleep.
func (s *stack) waitFor(what string, timeout time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLeaseFree waits until no run holds the stream: the lease a killed or
// interrupted run left behind has run out.
func (s *stack) waitLeaseFree() {
	s.t.Helper()
	s.waitFor("the stream's lease to run out", time.Minute, func() bool {
		cp := s.checkpoint()
		return cp.LeaseOwner == "" || time.Now().After(cp.LeaseUntil)
	})
}

// standbyWrites counts the writes served to the secondary so far.
func (s *stack) standbyWrites() int {
	return len(s.arm.Writes(localstack.SecondaryGroup, localstack.SecondaryAcct))
}

// checkpoint reads the pair's checkpoint from Table Storage.
func (s *stack) checkpoint() replication.Checkpoint {
	s.t.Helper()
	svc, err := tables.NewServiceClient(s.azurite.ConnectionString(), "", nil, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	store, err := tables.Open(s.ctx, svc, "drstate")
	if err != nil {
		s.t.Fatal(err)
	}
	cp, _, err := store.Load(s.ctx, localstack.PairName)
	if err != nil {
		s.t.Fatal(err)
	}
	return cp
}

// putPrimary writes a session on the primary as the Logic Apps runtime would.
func (s *stack) putPrimary(name string, c json.RawMessage) error {
	s.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, name, c)
	return nil
}

// checkInvariants asserts what must hold at any moment, faults or not: no control
// number on the standby was ever replaced by an older one, and the checkpoint does not
// stand past any change the standby lacks. It returns a line saying what it checked.
func (s *stack) checkInvariants() string {
	s.t.Helper()
	if r := s.arm.Regressions(); len(r) > 0 {
		s.t.Fatalf("standby moved back in time %d times, e.g. %s", len(r), r[0])
	}
	cp := s.checkpoint()
	secondary := s.secondary()
	covered := 0
	for name, p := range s.arm.SessionsWithTimes(localstack.PrimaryGroup, localstack.PrimaryAcct) {
		if cp.Watermark.IsZero() || p.Changed.After(cp.Watermark) {
			continue
		}
		covered++
		if !session.EqualContent(p.Content, secondary[name]) {
			s.t.Fatalf("checkpoint at %v is past %s (changed %v), which the standby lacks: %s vs %s", cp.Watermark, name, p.Changed, secondary[name], p.Content)
		}
	}
	return fmt.Sprintf("no regression on the standby; all %d changes behind the checkpoint are on the standby", covered)
}

// invokeAsync starts a tick and returns its reply channel.
func (s *stack) invokeAsync(url string) <-chan localstack.Reply {
	out := make(chan localstack.Reply, 1)
	go func() {
		now := time.Now()
		r, err := localstack.Invoke(s.ctx, url, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, now, now))
		if err != nil {
			r.Logs = append(r.Logs, "invoke: "+err.Error())
		}
		out <- r
	}()
	return out
}

// load makes n changes on the primary.
func (s *stack) load(traffic *localstack.Traffic, n int) {
	s.t.Helper()
	for range n {
		if err := traffic.Step(time.Now()); err != nil {
			s.t.Fatal(err)
		}
	}
}
