package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/dev/localstack"
	"integration-dr/journal"
	"integration-dr/view"
)

// stuckFailover journals, on the stack, a failover that can never end by itself: the
// pair flipped, and the fence waits on an old side that was rebuilt. It holds the
// pair's lock, so every later command of the pair is refused.
func (s *stack) stuckFailover(id string, claim time.Duration) {
	s.t.Helper()
	j := s.app().Journal
	now := time.Now()
	op, err := j.Create(s.ctx, journal.New(command.Command{ID: id, Action: command.Failover, Pair: localstack.PairName, RequestedBy: "alert"}, journal.Source{}, now, now))
	if err != nil {
		s.t.Fatal(err)
	}
	op.PlanSteps("authorize", "bump", "fence-old-side", "flip")
	_ = op.SetStatus(journal.Running, now)
	_ = op.FinishStep("authorize", journal.StepDone, "allowed", nil, now)
	_ = op.FinishStep("bump", journal.StepDone, "bumped 18 numbers", nil, now)
	_ = op.WaitStep("fence-old-side", "fence pending: the old side answers 404 (ResourceNotFound)", now)
	_ = op.FinishStep("flip", journal.StepDone, "secondary is active at epoch 1", nil, now)
	if claim > 0 {
		_ = op.Claim(journal.WithDelivery(s.ctx, "msg-1"), now, claim)
	} else {
		_ = op.SetStatus(journal.Waiting, now)
	}
	if _, err := j.Update(s.ctx, op); err != nil {
		s.t.Fatal(err)
	}
	if _, err := j.Lock(s.ctx, localstack.PairName, id, now.Add(2*time.Hour)); err != nil {
		s.t.Fatal(err)
	}
}

// TestCancelEndsAStuckOperationAndFreesThePair: a failover whose fence can never land
// holds the pair, and every later command, a forced one included, is refused. drctl
// cancel --direct ends it, journaled; the next command may run.
func TestCancelEndsAStuckOperationAndFreesThePair(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.stuckFailover("fo-1", 0)

	r := s.must(ExitRefused, "fallback", "--pair", "contoso-b2b", "--direct", "--force", "--id", "fb-1")
	oneErrorLine(t, r, "another operation runs on pair contoso-b2b")

	r = s.must(ExitOK, "cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", "West Europe was rebuilt; the fence cannot land", "--direct", "--id", "cancel-1")
	golden(t, "cancel", r.out)
	golden(t, "journal_cancelled", s.must(ExitOK, "journal", "--pair", "contoso-b2b", "--id", "fo-1").out)
	own := checkSchema[view.Operation](t, "journal --id cancel-1 --json", s.must(ExitOK, "journal", "--pair", "contoso-b2b", "--id", "cancel-1", "--json").out)
	if own.Action != "cancel" || own.Status != "succeeded" || own.Target != "fo-1" || len(own.Steps) != 1 || !strings.Contains(own.Steps[0].Outcome, "done: authorize, bump, flip; not done: fence-old-side (failed)") {
		t.Errorf("the cancel's own record: %+v", own)
	}
	st := checkSchema[view.Status](t, "status --json", s.must(ExitOK, "status", "--json").out)
	statusOf := map[string]string{}
	for _, op := range st.Operations {
		statusOf[op.ID] = op.Status
	}
	if len(st.Pending) != 0 || statusOf["fo-1"] != "cancelled" || statusOf["cancel-1"] != "succeeded" {
		t.Errorf("status after the cancel: pending %+v, operations %+v", st.Pending, st.Operations)
	}

	// The same cancel again is the same answer; another is refused: it has ended.
	r = s.must(ExitOK, "cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", "again", "--direct", "--id", "cancel-1", "--json")
	if op := checkSchema[view.Operation](t, "cancel --json", r.out); op.ID != "fo-1" || op.Status != "cancelled" || op.Error != "cancelled by tester (drctl): West Europe was rebuilt; the fence cannot land" {
		t.Errorf("cancel --json: %+v", op)
	}
	r = s.must(ExitRefused, "cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", "again", "--direct", "--id", "cancel-2")
	oneErrorLine(t, r, "operation cancel-2 was rejected: operation fo-1 has already ended (cancelled): there is nothing to cancel")
	r = s.must(ExitRefused, "cancel", "--pair", "contoso-b2b", "--operation", "fo-9", "--reason", "typo", "--direct")
	oneErrorLine(t, r, "no operation fo-9 on pair contoso-b2b to cancel")

	// The pair is free: the next command runs (and is refused only by its own rules).
	r = s.must(ExitRefused, "fallback", "--pair", "contoso-b2b", "--direct", "--id", "fb-2")
	if strings.Contains(r.err, "another operation runs") {
		t.Errorf("the pair is still held after the cancel:\n%s", r)
	}
}

// TestCancelOfAnOperationAnAttemptRunsNeedsForce: while an attempt's claim is alive
// something may be acting on the pair; the cancel says so and --force overrides it.
func TestCancelOfAnOperationAnAttemptRunsNeedsForce(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.stuckFailover("fo-1", 5*time.Minute)
	r := s.must(ExitRefused, "cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", "stuck", "--direct")
	oneErrorLine(t, r, "is being run by an attempt (a delivery of message msg-1)")
	r = s.must(ExitOK, "cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", "the worker is gone", "--direct", "--force", "--wait")
	if !strings.Contains(r.out, "operation fo-1 (failover of contoso-b2b): cancelled, 3/4 steps: cancelled by tester (drctl): the worker is gone") {
		t.Errorf("%s", r)
	}
}

// TestACancelGoesToTheQueueAsBuilt: without --direct, the cancel is a command like
// the others, for RunCommand to route to the pair's runner; it is checked first.
func TestACancelGoesToTheQueueAsBuilt(t *testing.T) {
	q := &fakeQueue{}
	env := offlineEnv()
	env[config.EnvCommandQueue] = "dr-commands"
	f := withQueue(testFactory(func(k string) string { return env[k] }), q)
	r := runDrctl(context.Background(), f, "cancel", "--pair", "contoso-ssis", "--operation", "ssis-1", "--reason", "rebuilt", "--force", "--json")
	v := checkSchema[view.Queued](t, "cancel --json", r.out)
	if r.code != ExitOK || v.Action != "cancel" || v.Pair != "contoso-ssis" || !v.Queued {
		t.Fatalf("%+v\n%s", v, r)
	}
	c := q.sent[0]
	if c.Action != command.Cancel || c.Target != "ssis-1" || c.Reason != "rebuilt" || !c.Force || c.RequestedBy != "tester (drctl)" || c.Validate(nil) != nil {
		t.Errorf("sent %+v", c)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"without a reason", []string{"cancel", "--pair", "contoso-b2b", "--operation", "fo-1"}, "drctl cancel needs --reason (why, for the journal)"},
		{"with a blank reason", []string{"cancel", "--pair", "contoso-b2b", "--operation", "fo-1", "--reason", " "}, "command.reason: is required for cancel"},
		{"without the operation", []string{"cancel", "--pair", "contoso-b2b", "--reason", "r"}, "drctl cancel needs --operation (the id of the operation to cancel)"},
		{"an operation id that is not one", []string{"cancel", "--pair", "contoso-b2b", "--operation", "fo 1", "--reason", "r"}, `command.target: "fo 1" is not`},
		{"an unknown pair", []string{"cancel", "--pair", "nope", "--operation", "fo-1", "--reason", "r"}, `unknown pair "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := offline(env, tc.args...)
			if r.code != ExitUsage || r.out != "" {
				t.Errorf("want exit 2 and nothing on stdout\n%s", r)
			}
			oneErrorLine(t, r, tc.want)
		})
	}
}
