package journal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
)

var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// stuckFailover journals a failover that can never end by itself: the pair flipped,
// and the fence of an old side that was rebuilt (it answers 404 for good) waits; it
// holds the pair's lock.
func stuckFailover(t *testing.T, s journal.Store) journal.Operation {
	t.Helper()
	ctx := context.Background()
	op, err := s.Create(ctx, journal.New(command.Command{ID: "fo-1", Action: command.Failover, Pair: "contoso-b2b", RequestedBy: "alert"}, journal.Source{}, now.Add(-2*time.Hour), now.Add(-2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	op.PlanSteps("authorize", "bump", "fence-old-side", "flip", "confirm-replication")
	_ = op.SetStatus(journal.Running, now.Add(-2*time.Hour))
	_ = op.FinishStep("authorize", journal.StepDone, "allowed", nil, now.Add(-2*time.Hour))
	_ = op.FinishStep("bump", journal.StepDone, "bumped 18 numbers", nil, now.Add(-2*time.Hour))
	_ = op.WaitStep("fence-old-side", "fence pending: the old side answers 404", now.Add(-2*time.Hour))
	_ = op.FinishStep("flip", journal.StepDone, "secondary is active at epoch 1", nil, now.Add(-2*time.Hour))
	_ = op.SetStatus(journal.Waiting, now.Add(-2*time.Hour))
	if op, err = s.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "contoso-b2b", "fo-1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return op
}

func cancelCmd(id string, force bool) command.Command {
	return command.Command{ID: id, Action: command.Cancel, Pair: "contoso-b2b", Target: "fo-1", Reason: "the old region was rebuilt", RequestedBy: "ops@contoso.example", Force: force}
}

func TestCancelIsTheWayOutOfAFenceThatCanNeverLand(t *testing.T) {
	ctx := context.Background()
	s := journaltest.New()
	s.Now = func() time.Time { return now }
	stuckFailover(t, s)

	// Before: the pair is held for good; a forced failover is refused too.
	if _, err := s.Lock(ctx, "contoso-b2b", "fo-2", now.Add(time.Hour)); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("precondition: the stuck failover holds the pair: %v", err)
	}

	got, err := journal.Cancel(ctx, s, cancelCmd("cancel-1", false), now)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "fo-1" || got.Status != journal.Cancelled || got.Error != "cancelled by ops@contoso.example: the old region was rebuilt" || !got.Done.Equal(now) {
		t.Fatalf("cancelled: %+v", got)
	}
	want := map[string]journal.StepStatus{
		"authorize": journal.StepDone, "bump": journal.StepDone, "flip": journal.StepDone,
		"fence-old-side": journal.StepFailed, "confirm-replication": journal.StepSkipped,
	}
	for _, st := range got.Steps {
		if st.Status != want[st.Name] {
			t.Errorf("step %s is %s, want %s (%s)", st.Name, st.Status, want[st.Name], st.Outcome)
		}
	}
	if st := got.StepByName("fence-old-side"); !strings.Contains(st.Outcome, "cancelled by ops@contoso.example") || !strings.Contains(st.Outcome, "404") || !st.Ended.Equal(now) {
		t.Errorf("the cut-short fence says %q, ended %v", st.Outcome, st.Ended)
	}
	if st := got.StepByName("confirm-replication"); !strings.HasPrefix(st.Outcome, "not run") {
		t.Errorf("the step that never ran says %q", st.Outcome)
	}
	stored, _ := s.Get(ctx, "contoso-b2b", "fo-1")
	if stored.Status != journal.Cancelled {
		t.Fatalf("stored: %s", stored.Status)
	}
	if pending, _ := s.ListPending(ctx); len(pending) != 0 {
		t.Errorf("a cancelled operation is still pending: %+v", pending)
	}
	// The pair is free: the next command may take it.
	if _, err := s.Lock(ctx, "contoso-b2b", "fo-2", now.Add(time.Hour)); err != nil {
		t.Errorf("after the cancel the pair is still held: %v", err)
	}

	// The cancel is journaled itself, saying what ran and what did not.
	own, err := s.Get(ctx, "contoso-b2b", "cancel-1")
	if err != nil {
		t.Fatal(err)
	}
	if own.Action != command.Cancel || own.Status != journal.Succeeded || own.Target != "fo-1" || own.Reason != "the old region was rebuilt" {
		t.Fatalf("the cancel's own record: %+v", own)
	}
	if st := own.StepByName(journal.StepCancel); st == nil || st.Status != journal.StepDone ||
		!strings.Contains(st.Outcome, "done: authorize, bump, flip; not done: fence-old-side (failed), confirm-replication (skipped)") {
		t.Errorf("the cancel's step: %+v", st)
	}

	// The same cancel again (a redelivery) changes nothing.
	again, err := journal.Cancel(ctx, s, cancelCmd("cancel-1", false), now.Add(time.Minute))
	if err != nil || again.Status != journal.Cancelled || again.ETag != stored.ETag {
		t.Fatalf("a repeated cancel: %+v %v", again, err)
	}
}

func TestCancelRefusesWhatItCannotCancel(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *journaltest.Store)
		cmd   command.Command
		says  string
	}{
		{"an unknown operation", func(*testing.T, *journaltest.Store) {}, cancelCmd("c-1", true), "no operation fo-1 on pair contoso-b2b to cancel"},
		{"an operation that has ended", func(t *testing.T, s *journaltest.Store) {
			op := stuckFailover(t, s)
			_ = op.SetStatus(journal.Succeeded, now)
			if _, err := s.Update(ctx, op); err != nil {
				t.Fatal(err)
			}
		}, cancelCmd("c-1", true), "operation fo-1 has already ended (succeeded): there is nothing to cancel"},
		{"an operation an attempt runs, without force", func(t *testing.T, s *journaltest.Store) {
			op := stuckFailover(t, s)
			_ = op.SetStatus(journal.Running, now)
			if err := op.Claim(journal.WithDelivery(ctx, "msg-7"), now, 5*time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, op); err != nil {
				t.Fatal(err)
			}
		}, cancelCmd("c-1", false), "being run by an attempt (a delivery of message msg-7) whose claim lasts until 2026-11-24T08:05:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := journaltest.New()
			s.Now = func() time.Time { return now }
			tc.setup(t, s)
			before, _ := s.Get(ctx, "contoso-b2b", "fo-1")
			got, err := journal.Cancel(ctx, s, tc.cmd, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "c-1" || got.Status != journal.Rejected || !strings.Contains(got.Error, tc.says) {
				t.Fatalf("got %s %s: %q; want the cancel rejected saying %q", got.ID, got.Status, got.Error, tc.says)
			}
			if stored, _ := s.Get(ctx, "contoso-b2b", "c-1"); stored.Status != journal.Rejected {
				t.Errorf("the refusal is not journaled: %+v", stored)
			}
			if after, _ := s.Get(ctx, "contoso-b2b", "fo-1"); after.ETag != before.ETag {
				t.Errorf("a refused cancel changed the target: %+v", after)
			}
		})
	}

	// The same live attempt, with force: cancelled, its running step cut short.
	s := journaltest.New()
	s.Now = func() time.Time { return now }
	op := stuckFailover(t, s)
	_ = op.SetStatus(journal.Running, now)
	_ = op.StartStep("fence-old-side", now)
	_ = op.Claim(ctx, now, 5*time.Minute)
	if _, err := s.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	got, err := journal.Cancel(ctx, s, cancelCmd("c-2", true), now)
	if err != nil || got.Status != journal.Cancelled || !got.AttemptUntil.IsZero() {
		t.Fatalf("forced: %+v %v", got, err)
	}
	if st := got.StepByName("fence-old-side"); st.Status != journal.StepFailed || !strings.Contains(st.Outcome, "whether the step finished is not known") {
		t.Errorf("the running step: %+v", st)
	}
}

func TestCancelIsValidatedLikeEveryCommand(t *testing.T) {
	ok := `"id":"c-1","action":"cancel","pair":"p","target":"fo-1"`
	for _, tc := range []struct{ name, body, says string }{
		{"without a reason", `{` + ok + `}`, "reason: is required for cancel"},
		{"with a blank reason", `{` + ok + `,"reason":"  "}`, "reason: is required for cancel"},
		{"without a target", `{"id":"c-1","action":"cancel","pair":"p","reason":"r"}`, "target: is required for cancel"},
		{"a target that is not an id", `{"id":"c-1","action":"cancel","pair":"p","target":"a b","reason":"r"}`, "not 1-128"},
		{"itself", `{"id":"c-1","action":"cancel","pair":"p","target":"c-1","reason":"r"}`, "the cancel command's own id"},
		{"a dry run", `{` + ok + `,"reason":"r","dryRun":true}`, "dryRun: is not for cancel"},
		{"an expected epoch", `{` + ok + `,"reason":"r","expectedEpoch":1}`, "expectedEpoch: is not for cancel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := command.Decode([]byte(tc.body), "m")
			if !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("%v; want invalid saying %q", err, tc.says)
			}
		})
	}
	c, err := command.Decode([]byte(`{`+ok+`,"reason":"rebuilt","force":true}`), "m")
	if err != nil || c.Action != command.Cancel || c.Target != "fo-1" || !c.Force {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := journal.Cancel(context.Background(), journaltest.New(), command.Command{ID: "c", Action: command.Failover, Pair: "p"}, now); !drerr.Is(err, drerr.Invalid) {
		t.Errorf("Cancel of a failover command: %v", err)
	}
}
