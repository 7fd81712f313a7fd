package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func op() Operation {
	return New(command.Command{ID: "cmd-1", Action: command.Failover, Pair: "contoso-b2b", RequestedBy: "ops@contoso.example"}, Source{}, t0.Add(-time.Minute), t0)
}

func TestOperationStatusMoves(t *testing.T) {
	tests := []struct {
		name     string
		path     []Status
		refused  Status // the last move, refused; "" if every move is allowed
		mentions string
	}{
		{"a plan runs, waits, resumes and succeeds", []Status{Running, Waiting, Running, Succeeded}, "", ""},
		{"a proposal is confirmed and runs", []Status{Proposed, Accepted, Running}, "", ""},
		{"a redelivered command may set the status it already has", []Status{Running, Running}, "", ""},
		{"succeeded is terminal", []Status{Running, Succeeded, Running}, Running, "terminal"},
		{"failed is terminal", []Status{Running, Failed, Waiting}, Waiting, "terminal"},
		{"rejected is terminal", []Status{Rejected, Accepted}, Accepted, "terminal"},
		{"a running plan cannot go back to accepted", []Status{Running, Accepted}, Accepted, "allowed: waiting, succeeded, failed"},
		{"an unknown status is refused", []Status{"paused"}, "paused", "not an operation status"},
		{"a waiting plan may be cancelled", []Status{Running, Waiting, Cancelled}, "", ""},
		{"a running plan may be cancelled", []Status{Running, Cancelled}, "", ""},
		{"a proposal may be cancelled", []Status{Proposed, Cancelled}, "", ""},
		{"an accepted command may be cancelled", []Status{Cancelled}, "", ""},
		{"cancelled is terminal", []Status{Running, Cancelled, Running}, Running, "terminal"},
		{"a succeeded operation cannot be cancelled", []Status{Running, Succeeded, Cancelled}, Cancelled, "terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op()
			for i, s := range tt.path {
				err := o.SetStatus(s, t0.Add(time.Duration(i+1)*time.Second))
				last := i == len(tt.path)-1
				if last && tt.refused != "" {
					if !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), tt.mentions) || !strings.Contains(err.Error(), "cmd-1") {
						t.Fatalf("move to %s: %v; want invalid naming the operation and saying %q", s, err, tt.mentions)
					}
					if o.Status == s {
						t.Fatalf("a refused move changed the status to %s", s)
					}
					return
				}
				if err != nil {
					t.Fatalf("move %d to %s: %v", i, s, err)
				}
			}
		})
	}
}

func TestSuccessSetsDoneAndRTO(t *testing.T) {
	o := op()
	_ = o.SetStatus(Running, t0.Add(time.Second))
	if !o.Done.IsZero() {
		t.Fatal("Done set before a terminal status")
	}
	if err := o.SetStatus(Succeeded, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !o.Done.Equal(t0.Add(4*time.Minute)) || o.RTO != 5*time.Minute {
		t.Fatalf("done %v, RTO %v; want %v and 5m from the alert", o.Done, o.RTO, t0.Add(4*time.Minute))
	}
	// Setting it again does not move the clock.
	_ = o.SetStatus(Succeeded, t0.Add(time.Hour))
	if o.RTO != 5*time.Minute || !o.Done.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("a repeated success changed done/RTO to %v/%v", o.Done, o.RTO)
	}

	f := op()
	if err := f.Fail(strings.Repeat("x", MaxError+10), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if f.Status != Failed || f.RTO != 0 || len([]rune(f.Error)) != MaxError || !f.Done.Equal(t0.Add(time.Minute)) {
		t.Fatalf("failed: status %s, RTO %v, error length %d, done %v", f.Status, f.RTO, len([]rune(f.Error)), f.Done)
	}
}

func TestStepHelpers(t *testing.T) {
	o := op()
	o.PlanSteps("readiness", "fence", "bump")
	o.PlanSteps("fence", "switch") // planning again adds only what is new
	if len(o.Steps) != 4 || o.Steps[3].Name != "switch" || o.StepByName("fence").Status != StepPending {
		t.Fatalf("planned steps: %+v", o.Steps)
	}
	if o.StepByName("nope") != nil {
		t.Fatal("StepByName found a step that does not exist")
	}

	if err := o.StartStep("fence", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := o.WaitStep("fence", "primary unreachable", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := o.StartStep("fence", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	s := o.StepByName("fence")
	if s.Status != StepRunning || !s.Started.Equal(t0.Add(time.Second)) {
		t.Fatalf("a resumed step: %+v; want running since its first start", s)
	}
	changes := make([]string, MaxChanges+5)
	for i := range changes {
		changes[i] = "disabled workflow " + strings.Repeat("w", MaxChangeLen)
	}
	if err := o.FinishStep("fence", StepDone, "intake disabled", changes, t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	s = o.StepByName("fence")
	if !s.Ended.Equal(t0.Add(4*time.Second)) || len(s.Changes) != MaxChanges || s.Changes[MaxChanges-1] != "… and 6 more" || len([]rune(s.Changes[0])) != MaxChangeLen {
		t.Fatalf("finished step: ended %v, %d changes, last %q", s.Ended, len(s.Changes), s.Changes[len(s.Changes)-1])
	}
	if !o.Updated.Equal(t0.Add(4 * time.Second)) {
		t.Fatalf("updated %v; want the last step change", o.Updated)
	}
	if err := o.FinishStep("fence", StepDone, "again", nil, t0.Add(time.Hour)); err != nil || o.StepByName("fence").Outcome != "intake disabled" {
		t.Fatalf("finishing a done step again: %v, outcome %q; want a no-op", err, o.StepByName("fence").Outcome)
	}

	for _, tt := range []struct {
		name string
		do   func() error
		says string
	}{
		{"a done step cannot run again", func() error { return o.StartStep("fence", t0) }, "terminal"},
		{"a done step cannot turn failed", func() error { return o.FinishStep("fence", StepFailed, "", nil, t0) }, "terminal"},
		{"finishing needs a terminal status", func() error { return o.FinishStep("bump", StepWaiting, "", nil, t0) }, "want done, skipped or failed"},
		{"a step needs a name", func() error { return o.StartStep("", t0) }, "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := o.StepByName("fence").Status
			if err := tt.do(); !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("%v; want invalid saying %q", err, tt.says)
			}
			if o.StepByName("fence").Status != before {
				t.Fatal("a refused move changed the step")
			}
		})
	}

	// A step finished without starting (skipped) still gets times; a new one is added.
	if err := o.FinishStep("attach-ir", StepSkipped, "no IR configured", nil, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := o.StepByName("attach-ir"); s == nil || !s.Started.Equal(t0.Add(5*time.Second)) || s.Status != StepSkipped {
		t.Fatalf("skipped step: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	if err := op().Validate(); err != nil {
		t.Fatalf("a new operation: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Operation)
		says   string
	}{
		{"an id that is not a command id", func(o *Operation) { o.ID = "a/b" }, "id"},
		{"an unknown pair shape", func(o *Operation) { o.Pair = "" }, "pair"},
		{"no status", func(o *Operation) { o.Status = "" }, "status"},
		{"a step twice", func(o *Operation) { o.Steps = []Step{{Name: "a", Status: StepDone}, {Name: "a", Status: StepDone}} }, "appears twice"},
		{"a step with an unknown status", func(o *Operation) { o.Steps = []Step{{Name: "a", Status: "maybe"}} }, "not one of"},
		{"too many steps", func(o *Operation) {
			for i := range MaxSteps + 1 {
				o.Steps = append(o.Steps, Step{Name: strings.Repeat("s", i+1), Status: StepPending})
			}
		}, "the limit is"},
		{"a long error", func(o *Operation) { o.Error = strings.Repeat("e", MaxError+1) }, "error is longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op()
			tt.change(&o)
			if err := o.Validate(); !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("%v; want invalid saying %q", err, tt.says)
			}
		})
	}
}

func TestNewCopiesTheCommand(t *testing.T) {
	epoch := int64(3)
	c := command.Command{ID: "c", Action: command.Drill, Pair: "p", Reason: "r", RequestedBy: "me", Force: true, DryRun: true, ExpectedEpoch: &epoch}
	o := New(c, Source{AlertID: "a", AlertRule: "rule"}, t0.Add(-time.Minute), t0)
	epoch = 9 // the operation keeps its own copy
	if o.ID != "c" || o.Action != command.Drill || o.Source.RequestedBy != "me" || o.Source.AlertRule != "rule" || !o.Force || !o.DryRun ||
		*o.ExpectedEpoch != 3 || o.Status != Accepted || !o.Created.Equal(t0) || !o.RTOStart.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("%+v", o)
	}
}

func TestOneAttemptAtATime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	alive := now.Add(time.Minute)
	cases := []struct {
		name     string
		status   Status
		until    time.Time
		by       string // the delivery whose attempt holds the claim
		delivery string // this caller's delivery; "" for the timer or drctl
		busy     bool
	}{
		{"a waiting operation", Waiting, time.Time{}, "", "", false},
		{"the timer, while a delivery's attempt is alive", Running, alive, "msg-1", "", true},
		{"a later delivery of the same message", Running, alive, "msg-1", "msg-1", false},
		{"another message (a confirm, a duplicate)", Running, alive, "msg-1", "msg-2", true},
		{"a delivery, while the timer's attempt is alive", Running, alive, "", "msg-1", true},
		{"anyone, once the claim ran out", Running, now.Add(-time.Second), "msg-1", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := Operation{ID: "op-1", Status: tc.status, AttemptUntil: tc.until, AttemptBy: tc.by}
			ctx := context.Background()
			if tc.delivery != "" {
				ctx = WithDelivery(ctx, tc.delivery)
			}
			err := op.Claim(ctx, now, 2*time.Minute)
			if got := errors.Is(err, ErrBusy); got != tc.busy {
				t.Fatalf("busy = %v (%v), want %v", got, err, tc.busy)
			}
			if !tc.busy && (!op.AttemptUntil.Equal(now.Add(2*time.Minute)) || op.AttemptBy != tc.delivery) {
				t.Fatalf("claim until %v by %q", op.AttemptUntil, op.AttemptBy)
			}
		})
	}
	if err := Busy(drerr.Errorf(drerr.Conflict, "update", "etag")); !errors.Is(err, ErrBusy) {
		t.Fatalf("an ETag conflict after a claim: %v", err)
	}
	op := Operation{ID: "op-1", Status: Running, AttemptUntil: now.Add(time.Minute)}
	_ = op.SetStatus(Waiting, now)
	if !op.AttemptUntil.IsZero() {
		t.Fatal("an attempt that ends waiting keeps its claim")
	}
}

func TestCompleteTellsSkippedFromDone(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		outcome string
		want    StepStatus
	}{{"bumped 42 sessions", StepDone}, {SkippedPrefix + "the old side does not answer", StepSkipped}} {
		op := Operation{ID: "op-1", Status: Running}
		op.PlanSteps("catch-up")
		if err := op.Complete("catch-up", tc.outcome, nil, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		if st := op.StepByName("catch-up"); st.Status != tc.want || !op.AttemptUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("%q: step %s, claim until %v; want %s", tc.outcome, st.Status, op.AttemptUntil, tc.want)
		}
	}
	var w *WaitError
	if err := Wait("settle %s", "2s"); !errors.As(err, &w) || w.Why != "settle 2s" {
		t.Fatalf("Wait: %v", err)
	}
	var r *RefusedError
	if err := Refuse("no room in %d bounds", 3); !errors.As(err, &r) || r.Why != "no room in 3 bounds" {
		t.Fatalf("Refuse: %v", err)
	}
}

// A command refused for its size must still be journaled: New cuts what comes from
// outside to what the journal keeps, so the rejection passes Validate.
func TestNewCutsWhatComesFromOutside(t *testing.T) {
	long := strings.Repeat("ü", 100<<10)
	c := command.Command{ID: "c", Action: command.Action(long), Pair: "p", Target: long, Side: long, Reason: long, RequestedBy: long}
	o := New(c, Source{AlertID: long, AlertRule: long}, t0, t0)
	if err := o.Reject("bad: "+long, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("a rejected command with long fields does not validate: %v", err)
	}
	if o.Target != "" || len([]rune(o.Reason)) != MaxSourceField || !strings.HasSuffix(o.Source.AlertRule, "…") || len([]rune(o.Error)) != MaxError {
		t.Errorf("target %q, reason %d, rule %q…, error %d", o.Target, len([]rune(o.Reason)), o.Source.AlertRule[:4], len([]rune(o.Error)))
	}
	if Cut("abc", 3) != "abc" || Cut("abcd", 3) != "ab…" || Cut("abc", 0) != "" {
		t.Error("Cut")
	}
}
