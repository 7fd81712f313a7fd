package ssis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
)

// Runner runs the ssis-failover and attach-ir commands as journaled plans, with the
// same idempotency, lock and redelivery rules as the integration-account commands:
// the command id is the journal key, a redelivered command resumes its plan, and a
// step journaled done never runs again.
type Runner struct {
	Reconciler *Reconciler
	// Timeout fails an operation that has waited this long for the world (default 2h):
	// its lock is freed and the timer's reconcile takes the pair back.
	Timeout time.Duration
	// PassWait is how long a command waits for a reconcile pass that holds its pair
	// (default 15s) before asking to be redelivered.
	PassWait time.Duration
}

// Step names, in the order plans run them.
const (
	StepAuthorize = "authorize"
	StepPlan      = "plan"
	StepFailover  = "failover-group"
	StepStopOld   = "stop-old-runtime"
	StepAttach    = "attach-runtime"
	StepReconcile = "reconcile"
	lockTTL       = 2 * time.Hour
	// attemptTTL is how long an attempt is presumed alive after its last step: an
	// SSIS step is a few bounded calls.
	attemptTTL = 2 * time.Minute
)

func steps(a command.Action, dry bool) []string {
	switch {
	case dry:
		return []string{StepAuthorize, StepPlan}
	case a == command.AttachIR:
		return []string{StepAuthorize, StepStopOld, StepAttach, StepReconcile}
	default:
		return []string{StepAuthorize, StepFailover, StepReconcile}
	}
}

// Owns says whether pair is an SSIS pair.
func (r *Runner) Owns(pair string) bool { _, ok := r.Reconciler.Pairs[pair]; return ok }

// Submit journals a command (or finds it journaled) and runs or resumes its plan. The
// error is non-nil only when the command must be retried.
func (r *Runner) Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	if c.Action == command.Cancel {
		return r.cancel(ctx, c)
	}
	if c.Action != command.SSISFailover && c.Action != command.AttachIR {
		return r.Reject(ctx, c, src, fmt.Sprintf("%s is not an SSIS action: pair %s takes %s or %s", c.Action, c.Pair, command.SSISFailover, command.AttachIR))
	}
	if rtoStart.IsZero() {
		rtoStart = r.now()
	}
	op, err := r.journal(ctx, journal.New(c, src, rtoStart, r.now()))
	if err != nil || op.Status.Terminal() {
		return op, err
	}
	return r.run(ctx, op)
}

// Propose refuses: SSIS commands come from operators, who run them, not from alerts.
func (r *Runner) Propose(ctx context.Context, c command.Command, src journal.Source, _ time.Time) (journal.Operation, error) {
	return r.Reject(ctx, c, src, "SSIS commands are not proposed: send the command itself")
}

// Reject journals a command refused before anything ran.
func (r *Runner) Reject(ctx context.Context, c command.Command, src journal.Source, why string) (journal.Operation, error) {
	op := journal.New(c, src, r.now(), r.now())
	if err := op.Reject(why, r.now()); err != nil {
		return op, err
	}
	return r.journal(ctx, op)
}

// cancel ends an operation that can never end, as journal.Cancel says, and drops the
// group failover it had begun, so that the next ssis-failover does not take it for
// its own.
func (r *Runner) cancel(ctx context.Context, c command.Command) (journal.Operation, error) {
	op, err := journal.Cancel(ctx, r.Reconciler.Journal, c, r.now())
	if err != nil || op.ID != c.Target || op.Status != journal.Cancelled {
		return op, err
	}
	return op, r.forgetFailover(ctx, op)
}

func (r *Runner) journal(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	return journal.CreateOrGet(ctx, r.Reconciler.Journal, op)
}

// Advance resumes this runner's operations that wait for the world.
func (r *Runner) Advance(ctx context.Context) ([]journal.Operation, error) {
	return journal.Resume(ctx, r.Reconciler.Journal, r.Owns, r.now(), r.run)
}

// run takes the pair's lock and runs op's remaining steps.
func (r *Runner) run(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	j := r.Reconciler.Journal
	// A dry run only reads: it takes no lock, so a preview never stands in the way.
	if err := r.lock(ctx, op); err != nil {
		var held *journal.HeldError
		if errors.As(err, &held) && !isPass(held.Lock.OpID) && op.Status == journal.Accepted {
			return r.end(ctx, op, journal.Rejected, "another operation holds the pair: "+err.Error())
		}
		return op, err // a pass that outlasted the wait, or the store: try again
	}
	if !op.DryRun {
		if other, err := journal.OtherPending(ctx, r.Reconciler.Journal, op); err != nil {
			return op, err
		} else if other != nil && op.Status == journal.Accepted {
			return r.end(ctx, op, journal.Rejected, fmt.Sprintf("operation %s (%s) is still %s on pair %s", other.ID, other.Action, other.Status, op.Pair))
		}
	}
	// One attempt at a time: only a later delivery of the message whose attempt holds
	// the claim may take it over (see journal.Claim).
	if err := op.Claim(ctx, r.now(), attemptTTL); err != nil {
		return op, err
	}
	if len(op.Steps) == 0 {
		op.PlanSteps(steps(op.Action, op.DryRun)...)
	}
	if err := op.SetStatus(journal.Running, r.now()); err != nil {
		return op, err
	}
	op, err := j.Update(ctx, op)
	if err != nil {
		return op, journal.Busy(err) // another attempt claimed it first
	}
	if r.now().Sub(op.Created) > orDefault(r.Timeout, 2*time.Hour) {
		return r.end(ctx, op, journal.Failed, "gave up waiting: the operation is older than its time limit; the reconcile timer takes the pair back")
	}
	p := &plan{r: r, op: &op, pair: r.Reconciler.Pairs[op.Pair]}
	for i := range op.Steps {
		st := op.Steps[i]
		if st.Status.Terminal() {
			continue
		}
		if err := op.StartStep(st.Name, r.now()); err != nil {
			return op, err
		}
		outcome, changes, err := p.step(ctx, st.Name)
		var w *journal.WaitError
		var refused *journal.RefusedError
		switch {
		case errors.As(err, &w):
			if err := op.WaitStep(st.Name, w.Why, r.now()); err != nil {
				return op, err
			}
			if err := op.SetStatus(journal.Waiting, r.now()); err != nil {
				return op, err
			}
			return j.Update(ctx, op) // keeps the lock: the timer resumes it
		case errors.As(err, &refused):
			_ = op.FinishStep(st.Name, journal.StepFailed, refused.Why, changes, r.now())
			status := journal.Rejected
			if st.Name != StepAuthorize {
				status = journal.Failed
			}
			return r.end(ctx, op, status, refused.Why)
		case err != nil:
			op.Error = err.Error()
			op.AttemptUntil, op.AttemptBy = time.Time{}, "" // this attempt is over: the redelivery may run it
			if saved, uerr := j.Update(ctx, op); uerr == nil {
				op = saved
			}
			return op, err
		}
		if err := op.Complete(st.Name, outcome, changes, r.now(), attemptTTL); err != nil {
			return op, err
		}
		if op, err = j.Update(ctx, op); err != nil {
			return op, err
		}
		p.op = &op
	}
	return r.end(ctx, op, journal.Succeeded, "")
}

// end journals a terminal status and frees the pair.
func (r *Runner) end(ctx context.Context, op journal.Operation, status journal.Status, why string) (journal.Operation, error) {
	j := r.Reconciler.Journal
	if err := op.SetStatus(status, r.now()); err != nil {
		return op, err
	}
	op.Error = why
	saved, err := j.Update(ctx, op)
	if err != nil {
		return op, err
	}
	if err := r.forgetFailover(ctx, op); err != nil {
		return saved, err
	}
	if err := j.Unlock(ctx, op.Pair, op.ID); !op.DryRun && err != nil && !drerr.Is(err, drerr.Conflict) {
		return saved, err
	}
	r.Reconciler.log().Info("ssis operation", "id", saved.ID, "pair", saved.Pair, "action", saved.Action, "status", saved.Status, "error", saved.Error)
	return saved, nil
}

// forgetFailover drops the group failover an ended operation began, if it is still
// recorded: the reconcile follows the roles whatever became of it, and the next
// ssis-failover must not take it for its own.
func (r *Runner) forgetFailover(ctx context.Context, op journal.Operation) error {
	if op.Action != command.SSISFailover {
		return nil
	}
	st, err := r.Reconciler.Store.Load(ctx, op.Pair)
	if err != nil {
		return err
	}
	if pd, ok := st.Pending[pendingFailover]; !ok || pd.OpID != op.ID {
		return nil
	}
	delete(st.Pending, pendingFailover)
	_, err = r.Reconciler.Store.Save(ctx, st)
	return err
}

// lock takes the pair's lock for op. A reconcile pass holds it for seconds: wait for
// it (up to PassWait) rather than refuse a command that arrived at that moment.
func (r *Runner) lock(ctx context.Context, op journal.Operation) error {
	if op.DryRun {
		return nil
	}
	deadline := time.Now().Add(orDefault(r.PassWait, 15*time.Second))
	for {
		_, err := journal.TakeLock(ctx, r.Reconciler.Journal, op.Pair, op.ID, r.now().Add(lockTTL))
		var held *journal.HeldError
		if err == nil || !errors.As(err, &held) || !isPass(held.Lock.OpID) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *Runner) now() time.Time { return r.Reconciler.now() }

// isPass says whether a lock holder is a reconcile pass (ReconcileAll's holder ids).
func isPass(holder string) bool { return strings.HasPrefix(holder, passPrefix) }

// plan is one attempt at an operation's steps.
type plan struct {
	r    *Runner
	op   *journal.Operation
	pair Pair
}

func (p *plan) step(ctx context.Context, name string) (string, []string, error) {
	switch name {
	case StepAuthorize:
		return p.authorize(ctx)
	case StepPlan:
		return p.plan(ctx)
	case StepFailover:
		return p.failover(ctx)
	case StepStopOld:
		return p.stopOld(ctx)
	case StepAttach:
		return p.attach(ctx)
	case StepReconcile:
		return p.reconcile(ctx)
	}
	return "", nil, journal.Refuse("unknown step %q", name)
}

// read loads the pair's state and reads its roles as a reconcile does: primary is the
// side holding the Primary role, meaningful only when the report's Unknown is empty.
func (p *plan) read(ctx context.Context) (State, Side, Report, error) {
	st, err := p.r.Reconciler.Store.Load(ctx, p.pair.Name)
	if err != nil {
		return st, "", Report{}, err
	}
	ps := &pass{r: p.r.Reconciler, pair: p.pair, st: &st}
	roles := ps.roles(ctx)
	return st, primaryOf(roles), ps.rep, nil
}

// target is the side the operation moves to: for ssis-failover the side to make
// primary, for attach-ir the side whose runtime takes SSISDB over. Authorize records
// it in the operation's Side.
func (p *plan) target() Side { return Side(p.op.Side) }

func (p *plan) authorize(ctx context.Context) (string, []string, error) {
	st, primary, rd, err := p.read(ctx)
	if err != nil {
		return "", nil, err
	}
	if rd.Unknown != "" {
		return "", nil, journal.Refuse("the role is unknown, so no side can be chosen safely: %s", rd.Unknown)
	}
	reading := strings.Join(rd.Reading, "; ")
	if p.op.Action == command.SSISFailover {
		p.op.Side = string(primary.Other())
		kind := "planned"
		if p.op.Force {
			kind = "forced, with possible data loss"
		}
		return fmt.Sprintf("%s failover of the group to the %s side (%s)", kind, p.op.Side, reading), nil, nil
	}
	serving := st.Serving
	if serving == "" {
		serving = primary
	}
	to := serving.Other()
	if p.op.Side != "" {
		to = Side(p.op.Side)
	}
	if to == serving {
		return "", nil, journal.Refuse("the %s side's runtime already serves SSISDB: nothing to attach", to)
	}
	if p.pair.Sides[primary].DB == nil {
		return "", nil, journal.Refuse("the primary SSISDB (%s side) has no SQL endpoint configured to run catalog.failover_integration_runtime on", primary)
	}
	p.op.Side = string(to)
	return fmt.Sprintf("attach SSISDB (primary on the %s side) to runtime %s/%s of the %s side, away from the %s side's (%s)",
		primary, p.pair.Sides[to].Factory.Name(), p.pair.Sides[to].IR, to, serving, reading), nil, nil
}

// plan is a dry run's one step: everything the command would change, changing nothing.
func (p *plan) plan(ctx context.Context) (string, []string, error) {
	to := p.target()
	var changes []string
	opts := Options{DryRun: true}
	if p.op.Action == command.SSISFailover {
		kind := "planned"
		if p.op.Force {
			kind = "forced (data loss allowed)"
		}
		changes = append(changes, fmt.Sprintf("would fail the group over to the %s side (%s)", to, kind))
		opts.Assume = map[Side]Role{to: Primary, to.Other(): Secondary}
	} else {
		e := p.pair.Sides[to]
		changes = append(changes,
			fmt.Sprintf("would stop runtime %s on the %s side first, and wait for its stop unless that side cannot be reached at all or the operation is forced", p.pair.Sides[to.Other()].IR, to.Other()),
			fmt.Sprintf("would run catalog.failover_integration_runtime @data_factory_name=%s, @integration_runtime_name=%s on the primary SSISDB", e.Factory.Name(), e.IR))
		opts.Serving = to
	}
	rep, err := p.r.Reconciler.Reconcile(ctx, p.pair.Name, opts)
	if err != nil {
		return "", nil, err
	}
	changes = append(changes, rep.Changes...)
	return "dry run: nothing changed; " + strings.Join(rep.Problems, "; "), changes, nil
}

// failover begins the group's failover on the target once, then polls it.
func (p *plan) failover(ctx context.Context) (string, []string, error) {
	rc := p.r.Reconciler
	to := p.target()
	st, err := rc.Store.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	if st.Pending == nil {
		st.Pending = map[string]Pending{}
	}
	group := p.pair.Sides[to].Group
	pd, begun := st.Pending[pendingFailover]
	if begun && pd.OpID != p.op.ID {
		// Left by an operation that ended: not ours to poll.
		delete(st.Pending, pendingFailover)
		if st, err = rc.Store.Save(ctx, st); err != nil {
			return "", nil, err
		}
		begun = false
	}
	if begun && pd.Token != "" {
		var done bool
		err := (&pass{r: rc}).call(ctx, func(ctx context.Context) (err error) {
			done, err = group.PollFailover(ctx, pd.Token)
			return err
		})
		switch {
		case err != nil && transient(err):
			return "", nil, journal.Wait("failover of the group under way; its poll failed, trying again (%v)", err)
		case err != nil:
			delete(st.Pending, pendingFailover)
			if _, serr := rc.Store.Save(ctx, st); serr != nil {
				return "", nil, serr
			}
			return "", nil, journal.Refuse("the failover of the group failed: %v", err)
		case !done:
			return "", nil, journal.Wait("failover of the group to the %s side in progress since %s", to, pd.Began.UTC().Format(time.RFC3339))
		}
		delete(st.Pending, pendingFailover)
		if _, err := rc.Store.Save(ctx, st); err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("the %s side is primary after %s", to, rc.now().Sub(pd.Began).Round(time.Second)), []string{"failover group: the " + string(to) + " side made primary"}, nil
	}
	// Not begun, or begun but not recorded: the roles say which.
	var self Role
	err = (&pass{r: rc}).call(ctx, func(ctx context.Context) (err error) {
		self, _, err = group.Roles(ctx)
		return err
	})
	if err == nil && self == Primary {
		return "the " + string(to) + " side is already primary", nil, nil
	}
	var token string
	err = (&pass{r: rc}).call(ctx, func(ctx context.Context) (err error) {
		token, err = group.BeginFailover(ctx, p.op.Force)
		return err
	})
	switch {
	case drerr.Is(err, drerr.Conflict):
		// A failover of the group is under way: an earlier attempt's, begun before its
		// token was recorded. The roles say when it is done.
		return "", nil, journal.Wait("a failover of the group to the %s side is in progress (%v)", to, err)
	case err != nil && transient(err):
		return "", nil, err
	case err != nil:
		return "", nil, journal.Refuse("the failover group refused the failover: %v", err)
	}
	verb := "planned failover"
	if p.op.Force {
		verb = "forced failover (data loss allowed)"
	}
	if token == "" {
		return "the " + string(to) + " side is primary", []string{"failover group: " + verb + " to the " + string(to) + " side"}, nil
	}
	st.Pending[pendingFailover] = Pending{Op: verb, Token: token, Began: rc.now(), OpID: p.op.ID}
	if _, err := rc.Store.Save(ctx, st); err != nil {
		return "", nil, err
	}
	return "", nil, journal.Wait("%s to the %s side begun", verb, to)
}

// stopOld stops the runtime that served SSISDB before, and waits for it to stop: the
// attach goes ahead without only when that side cannot be reached at all (taken as
// down, as the guide does when its region is down) or the operator forced it.
func (p *plan) stopOld(ctx context.Context) (string, []string, error) {
	rc := p.r.Reconciler
	old := p.target().Other()
	e := p.pair.Sides[old]
	st, err := rc.Store.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	if st.Pending == nil {
		st.Pending = map[string]Pending{}
	}
	ps := &pass{r: rc, pair: p.pair, st: &st, rep: Report{Sides: map[Side]SideReport{}}}
	ps.poll(ctx, old)
	var state string
	err = ps.call(ctx, func(ctx context.Context) (err error) {
		state, err = e.Factory.IRState(ctx, e.IR)
		return err
	})
	switch {
	case err != nil && p.op.Force:
		return fmt.Sprintf("%sforced: runtime %s on the %s side was not stopped, its state unreadable (%v); the reconcile stops it once it answers", journal.SkippedPrefix, e.IR, old, err), nil, nil
	case unreachable(err):
		// The guide skips the stop when the old runtime's region is down; only a
		// side that cannot be reached at all is taken as down.
		return fmt.Sprintf("%sruntime %s on the %s side is unreachable: no connection within the call budget of %s (%v); that side is taken as down, and the reconcile stops the runtime as soon as it answers", journal.SkippedPrefix, e.IR, old, rc.callTimeout(), err), nil, nil
	case err != nil:
		// Slow, throttled, erroring or refusing: the runtime may still run packages.
		return "", nil, journal.Wait("runtime %s on the %s side may still run: its state is unreadable (%v); the attach waits for its stop", e.IR, old, err)
	case state == IRStopped || state == IRInitial:
		if _, err := rc.Store.Save(ctx, st); err != nil {
			return "", nil, err
		}
		return "runtime " + e.IR + " on the " + string(old) + " side is " + state, ps.rep.Changes, nil
	}
	if pd, ok := st.Pending[pendingIR(old)]; (!ok || pd.Token == "") && state == IRStarted {
		ps.runtime(ctx, old, false) // begins, or retries after its back-off
	}
	if _, err := rc.Store.Save(ctx, st); err != nil {
		return "", nil, err
	}
	if len(ps.rep.Problems) > 0 {
		if p.op.Force {
			return fmt.Sprintf("%sforced: runtime %s on the %s side did not stop (%s); the reconcile stops it once it can", journal.SkippedPrefix, e.IR, old, strings.Join(ps.rep.Problems, "; ")), ps.rep.Changes, nil
		}
		return "", nil, journal.Wait("stopping runtime %s on the %s side: %s", e.IR, old, strings.Join(ps.rep.Problems, "; "))
	}
	return "", nil, journal.Wait("stopping runtime %s on the %s side (now %s)", e.IR, old, state)
}

// attach runs catalog.failover_integration_runtime on the primary SSISDB and records
// that the target's runtime serves it.
func (p *plan) attach(ctx context.Context) (string, []string, error) {
	rc := p.r.Reconciler
	to := p.target()
	st, primary, rd, err := p.read(ctx)
	if err != nil {
		return "", nil, err
	}
	if rd.Unknown != "" {
		return "", nil, journal.Wait("the role is unknown, waiting to know which SSISDB is primary: %s", rd.Unknown)
	}
	ps := &pass{r: rc, pair: p.pair, st: &st}
	db := p.pair.Sides[primary].DB
	if db == nil {
		return "", nil, journal.Refuse("the primary SSISDB (%s side) has no SQL endpoint configured", primary)
	}
	e := p.pair.Sides[to]
	err = ps.call(ctx, func(ctx context.Context) error { return db.FailoverIntegrationRuntime(ctx, e.Factory.Name(), e.IR) })
	if err != nil {
		if transient(err) {
			return "", nil, journal.Wait("SSISDB on the %s side did not answer: %v", primary, err)
		}
		return "", nil, journal.Refuse("catalog.failover_integration_runtime failed: %v", err)
	}
	st.Serving = to
	if primary == to {
		st.Serving = ""
	}
	if _, err := rc.Store.Save(ctx, st); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("SSISDB on the %s side attached to runtime %s/%s", primary, e.Factory.Name(), e.IR),
		[]string{fmt.Sprintf("EXEC catalog.failover_integration_runtime @data_factory_name=%s, @integration_runtime_name=%s on SSISDB of the %s side", e.Factory.Name(), e.IR, primary)}, nil
}

// reconcile brings the pair to its new roles at once, and ends the operation when the
// runtime that now serves SSISDB runs and its triggers are started: that is its RTO.
func (p *plan) reconcile(ctx context.Context) (string, []string, error) {
	rep, err := p.r.Reconciler.Reconcile(ctx, p.pair.Name, Options{Force: p.op.Force})
	if err != nil {
		return "", nil, err
	}
	to := p.target()
	if rep.Unknown != "" {
		return "", nil, journal.Wait("the role is unknown: %s", rep.Unknown)
	}
	problems := ""
	if len(rep.Problems) > 0 {
		problems = ": " + strings.Join(rep.Problems, "; ")
	}
	sr := rep.Sides[to]
	if !sr.Serves {
		return "", nil, journal.Wait("the %s side does not serve SSISDB yet (%s)%s", to, rolesLine(rep.Roles), problems)
	}
	if sr.IRState != IRStarted {
		return "", nil, journal.Wait("runtime %s on the %s side is %s %s%s", sr.IR, to, orDash(sr.IRState), sr.InFlight, problems)
	}
	for _, name := range slices.Sorted(maps.Keys(sr.Triggers)) {
		if state := sr.Triggers[name]; state != TriggerStarted {
			return "", nil, journal.Wait("trigger %s on the %s side is %s%s", name, to, state, problems)
		}
	}
	if p.op.Action == command.SSISFailover {
		// The SQL Agent schedules follow SSISDB, which the failover moved.
		for _, sc := range sr.Schedules {
			if !sc.Enabled {
				return "", nil, journal.Wait("SQL Agent schedule %d (%s) on the %s side is disabled%s", sc.ID, sc.Name, to, problems)
			}
		}
	}
	return fmt.Sprintf("runtime %s runs and the triggers of the %s side are started%s", sr.IR, to, problems), rep.Changes, nil
}

const pendingFailover = "failover"

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
