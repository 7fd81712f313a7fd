package journal_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
)

// proposalUnder25 journals a proposal on contoso-b2b two hours ago, then 25 newer
// operations on the same pair: more than a page of the journal's newest entries.
func proposalUnder25(t *testing.T, s journal.Store) {
	t.Helper()
	ctx := context.Background()
	p := journal.New(command.Command{ID: "alert-1", Action: command.Failover, Pair: "contoso-b2b", RequestedBy: "alert"}, journal.Source{AlertID: "a-1", AlertRule: "ia-down"}, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	p.Status = journal.Proposed
	if _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		at := now.Add(-time.Hour + time.Duration(i)*time.Minute)
		op := journal.New(command.Command{ID: fmt.Sprintf("drill-%02d", i), Action: command.Drill, Pair: "contoso-b2b"}, journal.Source{}, at, at)
		if err := op.Reject("nothing to see", at); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh proposal on another pair, and one on a pair this runner does not own.
	for _, x := range []struct {
		id, pair string
		at       time.Time
	}{{"alert-2", "contoso-b2b", now.Add(-time.Minute)}, {"alert-3", "contoso-ssis", now.Add(-3 * time.Hour)}} {
		p := journal.New(command.Command{ID: x.id, Action: command.Failover, Pair: x.pair}, journal.Source{}, x.at, x.at)
		p.Status = journal.Proposed
		if _, err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAProposalBuriedUnderNewerOperationsStillExpires(t *testing.T) {
	ctx := context.Background()
	s := journaltest.New()
	proposalUnder25(t, s)
	if recent, _ := s.List(ctx, "contoso-b2b", 20); containsID(recent, "alert-1") {
		t.Fatal("precondition: the proposal is among the 20 newest")
	}
	owns := func(pair string) bool { return pair == "contoso-b2b" }
	expired, err := journal.ExpireProposals(ctx, s, owns, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0].ID != "alert-1" || expired[0].Status != journal.Rejected || expired[0].Error != "proposal expired: not confirmed within 1h0m0s" {
		t.Fatalf("expired %+v; want alert-1 alone, rejected", expired)
	}
	for id, want := range map[string]journal.Status{"alert-1": journal.Rejected, "alert-2": journal.Proposed} {
		if op, _ := s.Get(ctx, "contoso-b2b", id); op.Status != want {
			t.Errorf("%s is %s, want %s", id, op.Status, want)
		}
	}
	if op, _ := s.Get(ctx, "contoso-ssis", "alert-3"); op.Status != journal.Proposed {
		t.Errorf("another runner's proposal was expired: %s", op.Status)
	}
	if again, err := journal.ExpireProposals(ctx, s, owns, time.Hour, now.Add(time.Minute)); err != nil || len(again) != 0 {
		t.Errorf("a second pass: %+v %v", again, err)
	}
}

func TestAConfirmJudgesAProposalByItsAge(t *testing.T) {
	created := now.Add(-time.Hour)
	p := journal.Operation{ID: "alert-1", Pair: "p", Status: journal.Proposed, Created: created}
	for _, tc := range []struct {
		name string
		op   journal.Operation
		ttl  time.Duration
		want bool
	}{
		{"a proposal as old as the ttl", p, time.Hour, true},
		{"a younger one", p, time.Hour + time.Second, false},
		{"no ttl: the default hour", p, 0, true},
		{"an accepted operation never expires", journal.Operation{ID: "x", Status: journal.Accepted, Created: created.Add(-24 * time.Hour)}, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := journal.ProposalExpired(tc.op, tc.ttl, now); got != tc.want {
				t.Errorf("expired = %v, want %v", got, tc.want)
			}
		})
	}
	if err := p.Expire(30*time.Minute, now); err != nil || p.Status != journal.Rejected || !strings.Contains(p.Error, "not confirmed within 30m0s") || !p.Done.Equal(now) {
		t.Errorf("Expire: %+v %v", p, err)
	}
	if err := p.Expire(time.Hour, now); err == nil {
		t.Error("an operation that is no proposal was expired")
	}
}

func containsID(ops []journal.Operation, id string) bool {
	for _, op := range ops {
		if op.ID == id {
			return true
		}
	}
	return false
}
