package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
)

func TestFirstRunCopiesEverythingAndAnIdleTickWritesNothing(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 1, func(name string, c json.RawMessage) error {
		s.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, name, c)
		return nil
	})
	for range 100 {
		if err := traffic.Step(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	r := s.tick()
	if r.Status != http.StatusOK {
		t.Fatalf("first tick: status %d, logs %v", r.Status, r.Logs)
	}
	s.requireConverged()

	// The first tick after a full sync re-reads its overlap window: no writes.
	s.arm.Stats(true)
	r = s.tick()
	st := stats(t, r)
	if r.Status != http.StatusOK || st[0].Writes != 0 {
		t.Fatalf("idle tick: status %d, writes %d, logs %v", r.Status, st[0].Writes, r.Logs)
	}
	calls := s.arm.Stats(true)
	secondary := calls["b2b-northeurope/contoso-ia-neu"]
	if secondary["sessions.put"] != 0 || secondary["sessions.get"] != 0 {
		t.Errorf("idle tick touched the secondary: %v", secondary)
	}
	if got := calls["b2b-westeurope/contoso-ia-weu"]["sessions.list"]; got != 1 {
		t.Errorf("idle tick made %d list calls, want 1", got)
	}
}

func TestRandomChangesOfEveryKindConverge(t *testing.T) {
	for _, seed := range []uint64{11, 12} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			s := newStack(t, time.Minute, nil)
			agr := localstack.Seed(s.arm, 12, time.Now().Add(-time.Hour))
			traffic := localstack.NewTraffic(agr, seed, s.putPrimary)
			rng := rand.New(rand.NewPCG(seed, 99))
			for round := range 5 {
				for range 20 + rng.IntN(60) {
					if err := traffic.Step(time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				if round > 0 {
					// Changes that the service makes visible late, stamped inside the
					// overlap window behind the checkpoint.
					wm := s.checkpoint().Watermark
					for i := range 3 {
						name := fmt.Sprintf("X12-ICN-Late-%d-%d", round, i)
						s.arm.PutSessionAt(localstack.PrimaryGroup, localstack.PrimaryAcct, name,
							localstack.ControlNumber("X12", int64(i), wm), wm.Add(-time.Duration(5+rng.IntN(40))*time.Second))
					}
				}
				if r := s.tick(); r.Status != http.StatusOK {
					t.Fatalf("tick %d: %d %v", round, r.Status, r.Logs)
				}
				s.requireConverged()
			}
			t.Logf("injected: %d rounds of traffic with late-visible changes; checked: secondary equals primary after every tick", 5)
		})
	}
}

func TestHandlerKilledMidRunLosesNothing(t *testing.T) {
	for _, killAfter := range []time.Duration{150 * time.Millisecond, 600 * time.Millisecond} {
		t.Run("killed after "+killAfter.String(), func(t *testing.T) {
			s := newStack(t, time.Minute, map[string]string{"DR_RUN_LEASE": "5s"})
			s.arm.SetFaults(armstandin.Faults{Latency: 10 * time.Millisecond})
			agr := localstack.Seed(s.arm, 30, time.Now().Add(-time.Hour))
			traffic := localstack.NewTraffic(agr, 3, s.putPrimary)
			for range 400 {
				if err := traffic.Step(time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			go func() {
				_, _ = localstack.Invoke(s.ctx, s.handler.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, time.Now(), time.Now()))
			}()
			time.Sleep(killAfter)
			s.handler.Kill()
			cut := len(s.secondary())
			before := s.checkpoint()
			if !before.Watermark.IsZero() {
				t.Fatalf("checkpoint moved to %v by a run that was killed", before.Watermark)
			}

			s.start()
			time.Sleep(5 * time.Second) // the dead run's lease
			ticks := s.tickUntilConverged(5, time.Second)
			t.Logf("injected: SIGKILL after %s (%d of %d sessions on the secondary); checked: converged %d tick(s) after restart",
				killAfter, cut, len(s.primary()), ticks)
		})
	}
}

func TestTwoInvocationsAtOnceHaveOneWriter(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.arm.SetFaults(armstandin.Faults{Latency: 5 * time.Millisecond})
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 5, s.putPrimary)
	s.tick()
	before := s.checkpoint()
	for range 150 {
		if err := traffic.Step(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// A second handler process, as on a scaled-out app, and two calls at once.
	other, err := localstack.StartHandler(s.ctx, handlerBin, s.env, s.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Kill()
	replies := make(chan localstack.Reply, 2)
	for _, url := range []string{s.handler.URL, other.URL} {
		go func() {
			r, err := localstack.Invoke(s.ctx, url, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, time.Now(), time.Now()))
			if err != nil {
				t.Error(err)
			}
			replies <- r
		}()
	}
	writers, skipped := 0, 0
	for range 2 {
		st := stats(t, <-replies)[0]
		if st.Skipped != "" {
			skipped++
		} else {
			writers++
		}
	}
	if writers != 1 || skipped != 1 {
		t.Fatalf("%d runs wrote and %d stood aside, want 1 and 1", writers, skipped)
	}
	after := s.checkpoint()
	if after.Watermark.Before(before.Watermark) {
		t.Fatalf("checkpoint went back from %v to %v", before.Watermark, after.Watermark)
	}
	s.requireConverged()
}

func TestFaultsInjectedStandbyStillConverges(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 9, s.putPrimary)
	faults := armstandin.Faults{Latency: 2 * time.Millisecond, Throttle: 0.05, RetryAfter: 1, ServerError: 0.05, Drop: 0.03}
	s.arm.SetFaults(faults)
	for range 4 {
		for range 40 {
			if err := traffic.Step(time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		s.tick()
	}
	ticks := s.tickUntilConverged(10, 200*time.Millisecond)
	t.Logf("injected: %+v on every ARM call; checked: converged %d tick(s) after the traffic stopped, with the faults still on", faults, ticks)
}

func TestSIGTERMLetsTheRunInFlightFinish(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond})
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 4, s.putPrimary)
	for range 100 {
		_ = traffic.Step(time.Now())
	}
	done := make(chan localstack.Reply, 1)
	go func() {
		r, err := localstack.Invoke(s.ctx, s.handler.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, time.Now(), time.Now()))
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	time.Sleep(200 * time.Millisecond)
	if err := s.handler.Terminate(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != http.StatusOK {
		t.Fatalf("run in flight at SIGTERM answered %d %v", r.Status, r.Logs)
	}
	s.requireConverged()
}
