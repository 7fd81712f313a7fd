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
	"integration-dr/replication"
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

	// What an operator sees through the Status function.
	r, err := localstack.Invoke(s.ctx, s.handler.URL, handlers.FnStatus, []byte(`{"Data":{"req":{"Method":"GET","Url":"http://localhost/api/status"}},"Metadata":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	_ = json.Unmarshal(r.Outputs["res"], &res)
	var body struct{ Streams []replication.StreamStatus }
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || res.StatusCode != http.StatusOK || len(body.Streams) != 1 {
		t.Fatalf("status: %d %q (%v)", res.StatusCode, res.Body, err)
	}
	if st := body.Streams[0]; st.Active != replication.Primary || st.LagSeconds < 0 || st.Runs != 2 || st.Writes == 0 || st.LastError != "" {
		t.Fatalf("status of the stream: %+v", st)
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

func TestSIGTERMLetsTheRunInFlightFinish(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond})
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 4, s.putPrimary)
	for range 100 {
		_ = traffic.Step(time.Now())
	}
	before := s.standbyWrites()
	done := s.invokeAsync(s.handler.URL)
	s.waitFor("the run's first standby writes", time.Minute, func() bool { return s.standbyWrites() > before })
	if err := s.handler.Terminate(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != http.StatusOK {
		t.Fatalf("run in flight at SIGTERM answered %d %v", r.Status, r.Logs)
	}
	s.requireConverged()
}

func TestAServiceThatIgnoresTheFilterCostsNoExtraWrites(t *testing.T) {
	s := newStack(t, time.Minute, nil)
	s.arm.SetFaults(armstandin.Faults{IgnoreFilter: true})
	agr := localstack.Seed(s.arm, 20, time.Now().Add(-time.Hour))
	traffic := localstack.NewTraffic(agr, 8, s.putPrimary)
	s.load(traffic, 100)
	s.tick()
	s.requireConverged()
	s.arm.Stats(true)
	st := stats(t, s.tick())[0]
	puts := s.arm.Stats(true)["b2b-northeurope/contoso-ia-neu"]["sessions.put"]
	if st.Writes != 0 || puts != 0 || st.Reads != 0 {
		t.Fatalf("a tick with no changes, the whole account listed: %d writes, %d reads", st.Writes, st.Reads)
	}
	s.load(traffic, 30)
	s.tick()
	s.requireConverged()
	t.Logf("injected: the list ignores $filter; checked: an idle tick listing everything wrote and read nothing, and new changes still converge")
}
