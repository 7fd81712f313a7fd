package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
)

// The fault suite: whatever is injected, the standby ends equal to the active side,
// no standby control number is replaced by an older one, and the checkpoint never
// stands past a change the standby lacks (checkInvariants, after every tick).

// faultStack is a stack with a few hundred sessions pending and a short lease.
func faultStack(t *testing.T, seed uint64, changes int) (*stack, *localstack.Traffic) {
	t.Helper()
	// A short lease so that killed runs free their stream quickly.
	s := newStack(t, time.Minute, map[string]string{"DR_RUN_LEASE": "5s"})
	agr := localstack.Seed(s.arm, 30, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, seed, s.putPrimary)
	s.load(traffic, changes)
	return s, traffic
}

// settle ticks (faults still on) until converged, checking the invariants each time.
// period is the timer's: ticks come at that pace, as the host's would; convergence,
// not the period, ends the wait.
func (s *stack) settle(maxTicks int, period time.Duration) (int, string) {
	s.t.Helper()
	var checked string
	for i := 1; i <= maxTicks; i++ {
		s.tick()
		checked = s.checkInvariants()
		if len(localstack.Differences(s.primary(), s.secondary())) == 0 {
			return i, checked
		}
		time.Sleep(period)
	}
	s.requireConverged()
	return maxTicks, checked
}

func TestThrottlingStormSlowsTheEngineDown(t *testing.T) {
	s, traffic := faultStack(t, 21, 200)
	s.arm.SetFaults(armstandin.Faults{Throttle: 1, RetryAfter: 1})
	s.arm.Stats(true)
	r := s.tick()
	calls := 0
	for _, ops := range s.arm.Stats(true) {
		for _, n := range ops {
			calls += n
		}
	}
	// One list call and azcore's four retries, each after Retry-After: then the run
	// gives up until the next tick instead of hammering.
	if calls > 5 {
		t.Fatalf("a tick under a full 429 storm made %d calls, want at most 5", calls)
	}
	if r.Status != http.StatusOK || !strings.Contains(strings.Join(r.Logs, " "), "throttled") {
		t.Fatalf("storm tick answered %d %v, want 200 with a throttling note", r.Status, r.Logs)
	}
	checked := s.checkInvariants()

	faults := armstandin.Faults{Latency: 2 * time.Millisecond, Throttle: 0.3, RetryAfter: 1}
	s.arm.SetFaults(faults)
	s.load(traffic, 50)
	ticks, checked2 := s.settle(15, 100*time.Millisecond)
	t.Logf("injected: 429 on every call, then %+v; checked: %d calls in the full storm; %s; converged after %d ticks under 30%% throttling; %s",
		faults, calls, checked, ticks, checked2)
}

func TestServerErrorsDropsAndSlowResponses(t *testing.T) {
	tests := []struct {
		name   string
		faults armstandin.Faults
	}{
		{"500 on a fifth of calls", armstandin.Faults{ServerError: 0.2}},
		{"a tenth of connections dropped", armstandin.Faults{Drop: 0.1}},
		// Each call outlasts what is left of the 5 s lease: runs end at their
		// deadline, having written only what they finished.
		{"responses slower than the run's deadline", armstandin.Faults{Latency: 2 * time.Second}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, traffic := faultStack(t, uint64(30+i), 300)
			s.arm.SetFaults(tt.faults)
			var statuses []int
			for range 2 {
				statuses = append(statuses, s.tick().Status)
				s.checkInvariants()
				s.load(traffic, 30)
			}
			if tt.faults.Latency > 0 {
				s.arm.SetFaults(armstandin.Faults{}) // nothing converges while every call is too slow
			}
			ticks, checked := s.settle(10, 100*time.Millisecond)
			t.Logf("injected: %+v; replies under the fault %v; checked: converged %d tick(s) later; %s", tt.faults, statuses, ticks, checked)
		})
	}
}

func TestHandlerKilledAtRandomPoints(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			s, traffic := faultStack(t, seed, 400)
			s.arm.SetFaults(armstandin.Faults{Latency: 10 * time.Millisecond})
			rng := rand.New(rand.NewPCG(seed, 5))
			var points []string
			for range 2 {
				// Kill after a random number of standby writes: anywhere in a run.
				at := s.standbyWrites() + 1 + rng.IntN(150)
				s.invokeAsync(s.handler.URL)
				s.waitFor(fmt.Sprintf("%d standby writes", at), time.Minute, func() bool { return s.standbyWrites() >= at })
				s.handler.Kill()
				points = append(points, fmt.Sprintf("write %d (%d/%d on the standby)", at, len(s.secondary()), len(s.primary())))
				s.checkInvariants()
				s.start()
				s.load(traffic, 50)
				s.waitLeaseFree()
			}
			ticks, checked := s.settle(5, time.Second)
			t.Logf("injected: SIGKILL at %v, restarted each time; checked: converged %d tick(s) later; %s", points, ticks, checked)
		})
	}
}

func TestAzuriteRestartedBetweenAndDuringRuns(t *testing.T) {
	s, traffic := faultStack(t, 40, 300)
	s.arm.SetFaults(armstandin.Faults{Latency: 10 * time.Millisecond})

	s.tick()
	s.checkInvariants()
	if err := s.azurite.Restart(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.load(traffic, 100)
	if r := s.tick(); r.Status != http.StatusOK {
		t.Fatalf("tick after Azurite restarted between runs: %d %v", r.Status, r.Logs)
	}
	s.checkInvariants()

	s.load(traffic, 300)
	before := s.standbyWrites()
	reply := s.invokeAsync(s.handler.URL)
	s.waitFor("the run's first standby writes", time.Minute, func() bool { return s.standbyWrites() > before })
	s.azurite.Stop()
	r := <-reply // the run cannot commit its checkpoint
	if err := s.azurite.Restart(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.checkInvariants()
	s.waitLeaseFree()
	ticks, checked := s.settle(5, time.Second)
	t.Logf("injected: Azurite restarted between two runs, then stopped once a run had written (it answered %d); checked: converged %d tick(s) after it came back; %s", r.Status, ticks, checked)
}

func TestThreeInvocationsOfOneStreamAtOnce(t *testing.T) {
	s, traffic := faultStack(t, 50, 100)
	s.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond}) // a run of about a second
	s.tick()
	before := s.checkpoint()
	s.load(traffic, 150)
	// A second handler process, as on a scaled-out app: three calls across the two.
	other, err := localstack.StartHandler(s.ctx, handlerBin, s.env, s.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Kill()
	var replies []<-chan localstack.Reply
	for _, url := range []string{s.handler.URL, other.URL, s.handler.URL} {
		replies = append(replies, s.invokeAsync(url))
	}
	// One run writes; the others stand aside, or (on a slow machine, arriving after it
	// finished) find nothing left to write.
	writers, skipped := 0, 0
	for _, ch := range replies {
		st := stats(t, <-ch)[0]
		switch {
		case st.Skipped != "":
			skipped++
		case st.Writes > 0:
			writers++
		}
	}
	if writers != 1 || skipped == 0 {
		t.Fatalf("%d runs wrote and %d stood aside, want 1 writer and the others aside", writers, skipped)
	}
	after := s.checkpoint()
	if after.Watermark.Before(before.Watermark) {
		t.Fatalf("checkpoint went back from %v to %v", before.Watermark, after.Watermark)
	}
	checked := s.checkInvariants()
	s.requireConverged()
	t.Logf("injected: three invocations at once over two processes; checked: one wrote, %d stood aside; checkpoint %v -> %v; %s", skipped, before.Watermark, after.Watermark, checked)
}

func TestCheckpointEditedDuringARun(t *testing.T) {
	s, traffic := faultStack(t, 60, 100)
	s.tick()
	s.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond}) // a run of well over a second
	s.load(traffic, 600)
	before := s.checkpoint()
	writes := s.standbyWrites()
	reply := s.invokeAsync(s.handler.URL)
	s.waitFor("the run's first standby writes", time.Minute, func() bool { return s.standbyWrites() > writes })

	// Someone else writes the checkpoint entity mid-run (an operator's tool, a
	// second deployment): its ETag changes under the run.
	svc, err := aztables.NewServiceClientFromConnectionString(s.azurite.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"PartitionKey":%q,"RowKey":"checkpoint-sessions","LastError":"edited by an operator"}`, localstack.PairName)
	if _, err := svc.NewClient("drstate").UpsertEntity(context.Background(), []byte(patch), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge}); err != nil {
		t.Fatal(err)
	}
	edited := s.standbyWrites()
	r := <-reply
	st := stats(t, r)[0]
	// The run stops at its next check, within one batch, and leaves the edit alone.
	if !strings.Contains(st.Skipped, "another run took the stream") {
		t.Fatalf("run whose checkpoint changed under it answered %d %v, want it to stop and stand aside", r.Status, r.Logs)
	}
	if extra := s.standbyWrites() - edited; extra > 500 {
		t.Fatalf("%d standby writes after the checkpoint changed, more than one batch", extra)
	}
	got := s.checkpoint()
	if !got.Watermark.Equal(before.Watermark) || got.LastError != "edited by an operator" {
		t.Fatalf("the run that lost its checkpoint wrote it: watermark %v -> %v, last error %q", before.Watermark, got.Watermark, got.LastError)
	}
	checked := s.checkInvariants()
	s.waitLeaseFree()
	ticks, checked2 := s.settle(5, time.Second)
	t.Logf("injected: checkpoint entity merged by another writer mid-run; checked: the run stood aside after %d more writes and left the edit; %s; converged %d tick(s) later; %s", s.standbyWrites()-edited, checked, ticks, checked2)
}
