package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/redact"
)

// StoppedError ends a mirror before its next write: the pair moved, a plan is under
// way on it, or which side is active could not be read. Nothing more is written; the
// operator runs the mirror again.
type StoppedError struct{ Why string }

func (e *StoppedError) Error() string { return e.Why }

// ApplyStep names the apply step of changes first..last (1-based) of n: one change per
// step while the plan is small enough ("3/7 create map OrdersToSAP"), else batches.
func ApplyStep(pl Plan, first, last int) string {
	n := len(pl.Changes)
	if first == last {
		return journal.Cut(fmt.Sprintf("%d/%d %s", first, n, pl.Changes[first-1].Line()), journal.MaxStepName)
	}
	return fmt.Sprintf("changes %d-%d of %d", first, last, n)
}

// batches splits the plan's changes into at most maxApplySteps steps of at most
// maxBatch changes where that is enough, each as [first, last], 1-based.
func batches(n int) [][2]int {
	size := max(1, (n+maxApplySteps-1)/maxApplySteps)
	var out [][2]int
	for first := 1; first <= n; first += size {
		out = append(out, [2]int{first, min(first+size-1, n)})
	}
	return out
}

// attempt is one attempt at a mirror operation.
type attempt struct {
	r    *Runner
	pair Pair
	op   *journal.Operation
	plan *Plan
	// active and standby are the sides as listed by this attempt (the standby kept up
	// to date with what the attempt writes), nil until the first apply step.
	active, standby map[string]drift.Artifact
	// landed lists the changes this attempt applied, for the error that stops it.
	landed []string
}

// run claims op and runs its remaining steps.
func (r *Runner) run(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	pair, ok := r.Pairs[op.Pair]
	a := &attempt{r: r, pair: pair, op: &op}
	if !ok {
		return a.finish(ctx, journal.Refuse("%q is not a pair with artifacts to mirror", op.Pair))
	}
	if err := op.Claim(ctx, r.now(), attemptTTL); err != nil {
		return op, err
	}
	if err := op.SetStatus(journal.Running, r.now()); err != nil {
		return op, err
	}
	if len(op.Steps) == 0 {
		if op.Action == command.Drift {
			op.PlanSteps(StepCompare)
		} else {
			op.PlanSteps(StepPlan)
		}
	}
	saved, err := r.Journal.Update(ctx, op)
	if err != nil {
		return op, journal.Busy(err)
	}
	op = saved
	// Steps are appended by the plan step: the list is read again each time round.
	for i := 0; i < len(op.Steps); i++ {
		st := op.Steps[i]
		if st.Status.Terminal() {
			if st.Status == journal.StepFailed {
				return a.finish(ctx, journal.Refuse("%s", st.Outcome))
			}
			continue
		}
		if err := op.StartStep(st.Name, r.now()); err != nil {
			return op, err
		}
		outcome, changes, err := a.step(ctx, st.Name, i)
		if err != nil {
			return a.finish(ctx, err)
		}
		if err := op.Complete(st.Name, outcome, changes, r.now(), attemptTTL); err != nil {
			return op, err
		}
		if op, err = r.Journal.Update(ctx, op); err != nil {
			return op, journal.Busy(err)
		}
	}
	return a.finish(ctx, nil)
}

func (a *attempt) step(ctx context.Context, name string, i int) (string, []string, error) {
	switch name {
	case StepCompare:
		return a.compare(ctx)
	case StepPlan:
		return a.makePlan(ctx)
	}
	if a.plan == nil {
		pl, err := a.r.PlanOf(ctx, a.op.Pair, a.op.ID)
		if err != nil {
			return "", nil, err
		}
		a.plan = &pl
	}
	// Apply steps follow the plan step, in order.
	b := batches(len(a.plan.Changes))
	j := i - 1
	if j < 0 || j >= len(b) {
		return "", nil, journal.Refuse("step %q is not one of the plan's", name)
	}
	return a.apply(ctx, name, b[j][0], b[j][1])
}

// compare is a drift command's step: the report, journaled and kept.
func (a *attempt) compare(ctx context.Context) (string, []string, error) {
	rep, err := a.r.Report(ctx, a.op.Pair)
	if err != nil {
		return "", nil, journal.Refuse("%v", err)
	}
	if err := a.saveOnce(ctx, rep); err != nil {
		return "", nil, err
	}
	if err := a.r.Keep(ctx, rep); err != nil {
		a.r.log().Warn("drift report not kept", "pair", rep.Pair, "err", err)
	}
	if !rep.Compared() {
		return "", nil, journal.Refuse("not compared: %s", rep.NotCompared)
	}
	var lines []string
	for _, d := range rep.Result.Differences {
		l := d.Reason()
		if d.Allowed {
			l += " (allowed)"
		}
		lines = append(lines, l)
	}
	return Outcome(rep), cutLines(lines), nil
}

// Outcome says a report's verdict in a sentence.
func Outcome(rep drift.PairReport) string {
	if !rep.Compared() {
		return "not compared: " + rep.NotCompared
	}
	res := rep.Result
	blocking := len(res.Blocking())
	switch {
	case len(res.Differences) == 0:
		return fmt.Sprintf("no drift: the %s holds what the %s holds (%d artifacts)", rep.Standby, rep.Active, res.Active)
	case blocking == 0:
		return fmt.Sprintf("%s, all on the allow-list: ready", count(len(res.Differences), "difference"))
	}
	return fmt.Sprintf("%s, %d not on the allow-list: not ready", count(len(res.Differences), "difference"), blocking)
}

// saveOnce journals v as the operation's record (plan or report). A record journaled
// by an earlier attempt stands: computed once.
func (a *attempt) saveOnce(ctx context.Context, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return drerr.E(drerr.Internal, "encode", err)
	}
	err = a.r.Journal.SaveNumbers(ctx, a.op.Pair, a.op.ID, raw)
	if drerr.Is(err, drerr.Conflict) {
		return nil
	}
	return err
}

// makePlan reads both sides and journals the plan, before anything is written. A plan
// an earlier attempt journaled (it died before recording the step) is the plan.
func (a *attempt) makePlan(ctx context.Context) (string, []string, error) {
	r := a.r
	act, err := r.Regions.Active(ctx, a.op.Pair)
	if err != nil {
		return "", nil, &StoppedError{Why: "which side is active could not be read: " + brief(err)}
	}
	if e := a.op.ExpectedEpoch; e != nil && *e != act.Epoch {
		return "", nil, journal.Refuse("expected epoch %d, the pair is at epoch %d", *e, act.Epoch)
	}
	if why, err := a.planUnderWay(ctx); err != nil {
		return "", nil, err
	} else if why != "" {
		return "", nil, &StoppedError{Why: why}
	}
	a.op.EpochBefore = act.Epoch
	to := other(act.Side)
	active, err := r.list(ctx, a.pair.side(act.Side))
	if err != nil {
		return "", nil, fmt.Errorf("the active side (%s): %w", act.Side, err)
	}
	held, err := r.list(ctx, a.pair.side(to))
	if err != nil {
		return "", nil, fmt.Errorf("the standby (%s): %w", to, err)
	}
	pl := NewPlan(a.op.Pair, act, to, active, held, a.pair.Allow, a.op.Prune)
	if err := a.saveOnce(ctx, pl); err != nil {
		return "", nil, err
	}
	stored, err := r.PlanOf(ctx, a.op.Pair, a.op.ID)
	if err != nil {
		return "", nil, err
	}
	a.plan = &stored
	var lines []string
	for _, c := range stored.Changes {
		lines = append(lines, c.Line())
	}
	for _, k := range stored.Kept {
		lines = append(lines, fmt.Sprintf("left alone: %s %s: %s", k.Kind, k.Name, k.Why))
	}
	outcome := stored.Summary()
	if a.op.DryRun {
		return "dry run: " + outcome + "; nothing written", cutLines(lines), nil
	}
	for _, b := range batches(len(stored.Changes)) {
		a.op.PlanSteps(ApplyStep(stored, b[0], b[1]))
	}
	return fmt.Sprintf("%s, from the %s at epoch %d", outcome, stored.From, stored.Epoch), cutLines(lines), nil
}

// planUnderWay names a plan (failover, fallback, SSIS command) under way on the pair,
// "" when there is none. A dry run or a drill moves nothing and does not count.
func (a *attempt) planUnderWay(ctx context.Context) (string, error) {
	if a.r.Plans == nil {
		return "", nil
	}
	pending, err := a.r.Plans.ListPending(ctx)
	if err != nil {
		return "", fmt.Errorf("read the plans' journal: %w", err)
	}
	for _, o := range pending {
		if o.Pair == a.op.Pair && moves(o) {
			return fmt.Sprintf("operation %s (%s) is under way on pair %s: a mirror stands aside", o.ID, o.Action, o.Pair), nil
		}
	}
	return "", nil
}

// moves says a plan's operation may change which side serves: a drill or a dry run
// does not.
func moves(o journal.Operation) bool { return !o.DryRun && o.Action != command.Drill }

// guard is read before every write: the pair must still be active on the plan's side
// at the plan's epoch, with no plan under way. Anything else stops the mirror.
func (a *attempt) guard(ctx context.Context) error {
	act, err := a.r.Regions.Active(ctx, a.op.Pair)
	if err != nil {
		return &StoppedError{Why: "which side is active could not be read (" + brief(err) + "): no write without knowing"}
	}
	if act.Side != a.plan.From || act.Epoch != a.plan.Epoch {
		return &StoppedError{Why: fmt.Sprintf("the pair moved: the %s was active at epoch %d when the plan was made, the %s is at epoch %d now", a.plan.From, a.plan.Epoch, act.Side, act.Epoch)}
	}
	why, err := a.planUnderWay(ctx)
	if err != nil {
		return err
	}
	if why != "" {
		return &StoppedError{Why: why}
	}
	return nil
}

// apply applies changes first..last of the plan, each once: a change the standby is
// found to hold already (it landed before a crash, or someone made it) is not written
// again.
func (a *attempt) apply(ctx context.Context, step string, first, last int) (string, []string, error) {
	if a.standby == nil {
		act, err := a.r.list(ctx, a.pair.side(a.plan.From))
		if err != nil {
			return "", nil, fmt.Errorf("the active side (%s): %w", a.plan.From, err)
		}
		held, err := a.r.list(ctx, a.pair.side(a.plan.To))
		if err != nil {
			return "", nil, fmt.Errorf("the standby (%s): %w", a.plan.To, err)
		}
		a.active, a.standby = byKey(act), byKey(held)
	}
	var lines []string
	wrote := 0
	for i := first; i <= last; i++ {
		c := a.plan.Changes[i-1]
		line, write := a.decide(c)
		if write != nil {
			if err := a.guard(ctx); err != nil {
				return "", nil, err
			}
			if err := a.write(ctx, write); err != nil {
				return "", nil, fmt.Errorf("%s on the %s: %w", c.Line(), a.plan.To, err)
			}
			wrote++
			a.landed = append(a.landed, c.Line())
		}
		lines = append(lines, line)
		// Marked done as it lands: a crash from here on resumes after it.
		a.op.NoteChanges(step, []string{line})
		a.op.AttemptUntil = a.r.now().Add(attemptTTL)
		saved, err := a.r.Journal.Update(ctx, *a.op)
		if err != nil {
			return "", nil, journal.Busy(err)
		}
		*a.op = saved
	}
	outcome := fmt.Sprintf("%d written, %d found done", wrote, len(lines)-wrote)
	if first == last {
		outcome = lines[0]
	}
	return outcome, lines, nil
}

// decide says what change c needs now, reading the listings: the line to journal, and
// the write, nil when nothing is to be written.
func (a *attempt) decide(c Item) (string, func(context.Context) error) {
	k := key(c.Kind, c.Name)
	act, onActive := a.active[k]
	held, onStandby := a.standby[k]
	w := a.pair.side(a.plan.To).writer(c.Kind)
	if w == nil {
		return fmt.Sprintf("%s %s: not written: no adapter writes %ss", c.Kind, c.Name, c.Kind), nil
	}
	switch c.Change {
	case drift.Stop:
		if !onStandby || !held.Running {
			return fmt.Sprintf("%s %s: already stopped on the %s", c.Kind, c.Name, a.plan.To), nil
		}
		return fmt.Sprintf("stopped %s %s on the %s", c.Kind, c.Name, a.plan.To), func(ctx context.Context) error {
			if err := w.Stop(ctx, c.Kind, held.Name); err != nil {
				return err
			}
			held.Running = false
			a.standby[k] = held
			return nil
		}
	case drift.Create, drift.Update:
		switch {
		case !onActive:
			return fmt.Sprintf("%s %s: not written: no longer on the %s", c.Kind, c.Name, a.plan.From), nil
		case onStandby && same(act, held):
			return fmt.Sprintf("%s %s: the %s holds it already", c.Kind, c.Name, a.plan.To), nil
		}
		verb := "created"
		if onStandby {
			verb = "updated"
		}
		return fmt.Sprintf("%s %s %s on the %s", verb, c.Kind, c.Name, a.plan.To), func(ctx context.Context) error {
			put := act
			put.Running = false // each side's own state: never started on the standby
			if err := w.Put(ctx, put); err != nil {
				return err
			}
			if onStandby {
				put.Name = held.Name
			}
			a.standby[k] = put
			return nil
		}
	case drift.Delete:
		switch {
		case !onStandby:
			return fmt.Sprintf("%s %s: already gone from the %s", c.Kind, c.Name, a.plan.To), nil
		case onActive:
			return fmt.Sprintf("%s %s: not deleted: the %s holds it now", c.Kind, c.Name, a.plan.From), nil
		}
		return fmt.Sprintf("deleted %s %s from the %s", c.Kind, c.Name, a.plan.To), func(ctx context.Context) error {
			if err := w.Delete(ctx, c.Kind, held.Name); err != nil {
				return err
			}
			delete(a.standby, k)
			return nil
		}
	}
	return fmt.Sprintf("%s %s: %s: not a change a mirror makes", c.Kind, c.Name, c.Change), nil
}

// write runs one write within the write budget, the call timeout and the attempt's
// claim: it cannot land after another attempt may have taken the operation over.
func (a *attempt) write(ctx context.Context, put func(context.Context) error) error {
	r := a.r
	if r.Writes != nil {
		if err := r.Writes.Wait(ctx); err != nil {
			return drerr.E(drerr.Interrupted, "write budget", err)
		}
	}
	left := a.op.AttemptUntil.Add(-claimMargin).Sub(r.now())
	if left <= 0 {
		return drerr.Errorf(drerr.Interrupted, "claim", "this attempt's claim ends at %s: no write starts after it", a.op.AttemptUntil.UTC().Format(time.RFC3339))
	}
	wctx, cancel := context.WithTimeout(ctx, min(left, r.callTimeout()))
	defer cancel()
	return put(wctx)
}

// finish journals the attempt's outcome: succeeded; stopped or refused (rejected when
// nothing was written, failed otherwise, saying exactly what landed); or, for a
// transient error, the error, for the command to be retried.
func (a *attempt) finish(ctx context.Context, err error) (journal.Operation, error) {
	r, op := a.r, a.op
	now := r.now()
	var stopped *StoppedError
	var ref *journal.RefusedError
	switch {
	case errors.Is(err, journal.ErrBusy):
		return *op, err
	case err == nil:
		if serr := op.SetStatus(journal.Succeeded, now); serr != nil {
			return *op, serr
		}
		op.Error = "" // an earlier attempt's transient error, now overcome
	case errors.As(err, &stopped), errors.As(err, &ref), drerr.Is(err, drerr.Invalid):
		why := brief(err)
		a.endSteps(why, now)
		to := journal.Rejected
		if a.op.Action == command.Drift {
			to = journal.Failed // a report that could not be made did not refuse anything
		}
		if n := a.applied(); n > 0 {
			to = journal.Failed
			why += "; " + a.landedSummary()
		} else if a.plan != nil && len(a.plan.Changes) > 0 {
			why += "; nothing was written"
		}
		if stopped != nil {
			why += "; run mirror again"
		}
		if serr := op.SetStatus(to, now); serr != nil {
			return *op, serr
		}
		op.Error = journal.Cut(redact.String(why), journal.MaxError)
	default:
		// Transient: the message comes back (its delivery may resume at once); the
		// timer resumes it after the back-off. The journal says what landed.
		op.Error = journal.Cut(redact.String(brief(err)+"; "+a.landedSummary()), journal.MaxError)
		op.AttemptUntil = now.Add(r.backoff())
		if op.AttemptBy == "" {
			// The timer's own attempt, or drctl's: one more failure ends it, saying
			// what landed, rather than retrying every tick.
			a.endSteps(brief(err), now)
			to := journal.Failed
			if a.applied() == 0 {
				to = journal.Rejected
			}
			if serr := op.SetStatus(to, now); serr != nil {
				return *op, serr
			}
			if saved, uerr := r.Journal.Update(ctx, *op); uerr == nil {
				*op = saved
			}
			return *op, nil
		}
		if saved, uerr := r.Journal.Update(ctx, *op); uerr == nil {
			*op = saved
		}
		return *op, err
	}
	saved, uerr := r.Journal.Update(ctx, *op)
	if uerr != nil {
		return *op, uerr
	}
	r.log().Info("operation", "id", saved.ID, "pair", saved.Pair, "action", saved.Action, "status", saved.Status, "error", saved.Error)
	return saved, nil
}

// endSteps ends the step under way as failed and marks the ones after it skipped.
func (a *attempt) endSteps(why string, now time.Time) {
	for _, st := range a.op.Steps {
		switch st.Status {
		case journal.StepRunning, journal.StepWaiting:
			_ = a.op.FinishStep(st.Name, journal.StepFailed, "not done: "+why, a.op.StepByName(st.Name).Changes, now)
		case journal.StepPending:
			_ = a.op.FinishStep(st.Name, journal.StepSkipped, journal.SkippedPrefix+"the mirror stopped before it", nil, now)
		}
	}
}

// applied counts the changes the journal records as applied or found done, in every
// attempt: the lines of the apply steps.
func (a *attempt) applied() int {
	n := 0
	for _, st := range a.op.Steps {
		if st.Name == StepPlan || st.Name == StepCompare {
			continue
		}
		n += len(st.Changes)
	}
	return n
}

// landedSummary says exactly what the journal records as done, for the operation's
// error.
func (a *attempt) landedSummary() string {
	total := "?"
	if a.plan != nil {
		total = fmt.Sprint(len(a.plan.Changes))
	}
	var done []string
	for _, st := range a.op.Steps {
		if st.Name != StepPlan && st.Name != StepCompare {
			done = append(done, st.Changes...)
		}
	}
	if len(done) == 0 {
		return fmt.Sprintf("0 of %s changes done", total)
	}
	return fmt.Sprintf("%d of %s changes done: %s", len(done), total, strings.Join(done, "; "))
}
