package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"integration-dr/dev/localstack"
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
