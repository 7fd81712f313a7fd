package ssis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/mssql"
)

// Reconciler makes each SSIS pair's runtimes, triggers and schedules follow the
// failover group's roles.
type Reconciler struct {
	Store   Store
	Journal journal.Store
	Pairs   map[string]Pair
	Log     *slog.Logger
	Now     func() time.Time
	// CallTimeout bounds each call to a side, so that a side that does not answer
	// costs this long, not the invocation (default 10s).
	CallTimeout time.Duration
	// Backoff is the wait after a failed start or stop, doubled with each further
	// failure up to MaxBackoff (defaults 1m and 30m).
	Backoff, MaxBackoff time.Duration
	// LockTTL is how long a timer's pass holds a pair (default 2m): if the process
	// dies mid-pass, the pair is free again after it.
	LockTTL time.Duration
}

// passPrefix starts the lock holder id of a timer's pass.
const passPrefix = "reconcile-"

// Options steer one pass.
type Options struct {
	// DryRun reads everything and changes nothing: the report lists what would change.
	DryRun bool
	// Assume replaces the roles read from the world (a dry run of a failover).
	Assume map[Side]Role
	// Serving replaces the stored serving side (a dry run of an attach-ir).
	Serving Side
	// Force is an operator's forced operation: a standby that answers but whose
	// triggers or schedules could not be stopped does not hold the serving side's
	// back. The report says so, and the stop is still tried, the first back-off step
	// apart at most while a package may run on both sides.
	Force bool
	// holder is the timer pass's lock holder, renewed as the pass goes on; empty when
	// an operation, which holds the pair itself, runs the pass.
	holder string
}

// ReconcileAll runs a pass over every pair that no operation holds. A pair an
// operation holds is left to it: the operation reconciles as it goes.
func (r *Reconciler) ReconcileAll(ctx context.Context) ([]Report, error) {
	var out []Report
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(r.Pairs)) {
		holder := fmt.Sprintf("%s%d", passPrefix, r.now().UnixNano())
		if _, err := r.Journal.Lock(ctx, name, holder, r.now().Add(r.lockTTL())); err != nil {
			if drerr.Is(err, drerr.Conflict) {
				out = append(out, Report{Pair: name, At: r.now(), Problems: []string{"left to the operation that holds the pair: " + err.Error()}})
				continue
			}
			errs = append(errs, fmt.Errorf("pair %s: %w", name, err))
			continue
		}
		rep, err := r.Reconcile(ctx, name, Options{holder: holder})
		if uerr := r.Journal.Unlock(context.WithoutCancel(ctx), name, holder); uerr != nil && err == nil {
			err = uerr
		}
		out = append(out, rep)
		if err != nil {
			errs = append(errs, fmt.Errorf("pair %s: %w", name, err))
		}
	}
	return out, errors.Join(errs...)
}

// Reconcile runs one pass over a pair. The caller holds the pair's lock (ReconcileAll
// takes it; an operation holds it already). The error is for what the pass could not
// record; what it could not read or change is in the report's Problems.
func (r *Reconciler) Reconcile(ctx context.Context, name string, opts Options) (Report, error) {
	p, ok := r.Pairs[name]
	if !ok {
		return Report{}, drerr.Errorf(drerr.Invalid, "reconcile", "%q is not an SSIS pair", name)
	}
	st, err := r.Store.Load(ctx, name)
	if err != nil {
		return Report{}, err
	}
	if st.Pending == nil {
		st.Pending = map[string]Pending{}
	}
	ps := &pass{r: r, pair: p, st: &st, opts: opts, rep: Report{Pair: name, At: r.now(), DryRun: opts.DryRun, Sides: map[Side]SideReport{}}, locked: r.now()}
	ps.run(ctx)
	if opts.DryRun {
		return ps.rep, nil
	}
	return ps.rep, r.record(ctx, ps)
}

// record saves the state, then journals what the pass changed (and a role newly
// unknown). The state first: a journal that refuses the entry must not cost the
// tokens and back-offs the pass recorded.
func (r *Reconciler) record(ctx context.Context, ps *pass) error {
	ctx = context.WithoutCancel(ctx) // a pass that changed Azure must be recorded
	rep := ps.rep
	newlyUnknown := rep.Unknown != "" && rep.Unknown != ps.st.Unknown
	ps.st.Unknown = rep.Unknown
	ps.st.Last = rep
	saved, err := r.Store.Save(ctx, *ps.st)
	if err != nil {
		return fmt.Errorf("save state of %s: %w", rep.Pair, err)
	}
	*ps.st = saved
	var entry journal.Operation
	switch {
	case newlyUnknown:
		entry = r.entry(rep, journal.Rejected, "role unknown, nothing changed: "+rep.Unknown)
	case len(rep.Changes) > 0:
		status, why := journal.Succeeded, ""
		if len(rep.Problems) > 0 {
			status, why = journal.Failed, strings.Join(rep.Problems, "; ")
		}
		entry = r.entry(rep, status, why)
	default:
		return nil
	}
	if _, err := r.Journal.Create(ctx, entry); err != nil && !drerr.Is(err, drerr.Conflict) {
		return fmt.Errorf("journal reconcile of %s: %w", rep.Pair, err)
	}
	return nil
}

// entry is the journal's record of a pass: what, where and why in its step (cut to
// the journal's limits, the count of the rest kept), when in its times, and the role
// reading it acted on in its reason.
func (r *Reconciler) entry(rep Report, status journal.Status, why string) journal.Operation {
	now := r.now()
	op := journal.Operation{
		ID:     fmt.Sprintf("%s%d", passPrefix, now.UnixNano()),
		Action: command.Reconcile, Pair: rep.Pair,
		Source: journal.Source{RequestedBy: "ReconcileSSIS"},
		Reason: clip(strings.Join(rep.Reading, "; "), journal.MaxSourceField),
		Status: status, Created: now, Updated: now, Done: now, Error: clip(why, journal.MaxError),
	}
	stepStatus := journal.StepDone
	if status != journal.Succeeded {
		stepStatus = journal.StepFailed
	}
	_ = op.StartStep("reconcile", rep.At)
	_ = op.FinishStep("reconcile", stepStatus, clip(rolesLine(rep.Roles), journal.MaxOutcome), rep.Changes, now)
	return op
}

// pass is one reconcile of one pair.
type pass struct {
	r    *Reconciler
	pair Pair
	st   *State
	opts Options
	rep  Report
	// locked is when the timer pass's lock was last taken or renewed.
	locked time.Time
}

func (ps *pass) run(ctx context.Context) {
	roles := ps.opts.Assume
	if roles == nil {
		roles = ps.roles(ctx)
	} else {
		ps.rep.Reading = append(ps.rep.Reading, "assumed: "+rolesLine(roles))
	}
	ps.rep.Roles = roles
	// In-flight starts and stops are polled whatever the roles: polling changes
	// nothing, and a failure must be seen.
	for _, s := range []Side{SidePrimary, SideSecondary} {
		ps.poll(ctx, s)
	}
	if ps.rep.Unknown != "" {
		for _, s := range []Side{SidePrimary, SideSecondary} {
			sr := ps.rep.Sides[s]
			sr.Role, sr.IR = Unknown, ps.pair.Sides[s].IR
			ps.rep.Sides[s] = sr
		}
		return
	}
	primary := primaryOf(roles)
	serving := ps.st.Serving
	if ps.opts.Serving != "" {
		serving = ps.opts.Serving
	}
	if serving == primary {
		// An attach-ir moved the runtime back where the primary is: nothing is
		// overridden any more.
		serving = ""
		if !ps.opts.DryRun && ps.st.Serving != "" {
			ps.st.Serving = ""
			ps.change("%s: the runtime of the primary's side serves SSISDB again", primary)
		}
	}
	if serving == "" {
		serving = primary
	}
	for _, s := range []Side{SidePrimary, SideSecondary} {
		sr := ps.rep.Sides[s]
		sr.Role, sr.Serves, sr.IR = roles[s], s == serving, ps.pair.Sides[s].IR
		ps.rep.Sides[s] = sr
	}
	// What must stop goes first: a trigger or schedule running on both sides at once
	// would run its packages twice. The serving side's are started or enabled only
	// once the standby's are stopped or disabled, or the standby cannot be reached at
	// all (taken as down, fenced as soon as it answers), or the operator forced it.
	// Each phase that may write first makes sure the pass still holds the pair: a pass
	// slowed by sides that do not answer must not outlive its lock and act beside a
	// command that took the pair.
	standby, agentStandby := serving.Other(), primary.Other()
	ps.settleFences(serving, primary)
	if !ps.keep(ctx) {
		return
	}
	trig := ps.fence(ctx, fenceTriggers, standby)
	if !ps.keep(ctx) {
		return
	}
	sched := ps.fence(ctx, fenceSchedules, agentStandby)
	if !ps.keep(ctx) {
		return
	}
	if ps.goAhead(sched, primary) {
		_, _ = ps.schedules(ctx, primary, true) // each failure is a problem in the report; only a fence needs the error
	} else {
		ps.heldSchedules(ctx, primary, sched)
	}
	if !ps.keep(ctx) {
		return
	}
	// The standby runtime follows the policy; after an attach-ir it is the one whose
	// region was lost, and stays stopped. Its stop is begun before the serving side
	// starts anything.
	ps.runtime(ctx, standby, ps.pair.Standby == StandbyRunning && serving == primary)
	if !ps.keep(ctx) {
		return
	}
	ps.runtime(ctx, serving, true)
	if !ps.keep(ctx) {
		return
	}
	// A trigger fires pipelines that need the runtime: started only once it runs.
	switch {
	case !ps.goAhead(trig, serving):
		ps.heldTriggers(ctx, serving, trig)
	case ps.rep.Sides[serving].IRState == IRStarted:
		_, _ = ps.triggers(ctx, serving, true) // each failure is a problem in the report; only a fence needs the error
	default:
		ps.waitTriggers(serving)
	}

	ps.rep.Converged = len(ps.rep.Changes) == 0 && len(ps.rep.Problems) == 0 && len(ps.st.Pending) == 0
}

// keep renews a timer pass's lock once half of it has gone by, and says whether the
// pass may go on: a pass that lost the pair stops, saying so.
func (ps *pass) keep(ctx context.Context) bool {
	if ps.opts.holder == "" || ps.r.now().Sub(ps.locked) < ps.r.lockTTL()/2 {
		return true
	}
	if _, err := ps.r.Journal.Renew(ctx, ps.pair.Name, ps.opts.holder, ps.r.now().Add(ps.r.lockTTL())); err != nil {
		ps.problem("the pass stopped: it could not keep the pair (%v); the next tick goes on", err)
		return false
	}
	ps.locked = ps.r.now()
	return true
}

// roles reads the roles from the failover group on both sides, cross-checked with
// SSISDB wherever its endpoint answers. Anything short of one consistent answer is
// unknown.
func (ps *pass) roles(ctx context.Context) map[Side]Role {
	var views []map[Side]Role
	for _, s := range []Side{SidePrimary, SideSecondary} {
		var self, partner Role
		err := ps.call(ctx, func(ctx context.Context) (err error) {
			self, partner, err = ps.pair.Sides[s].Group.Roles(ctx)
			return err
		})
		if err != nil {
			ps.rep.Reading = append(ps.rep.Reading, fmt.Sprintf("failover group via the %s side: no answer (%v)", s, err))
			continue
		}
		view := map[Side]Role{s: self, s.Other(): partner}
		ps.rep.Reading = append(ps.rep.Reading, fmt.Sprintf("failover group via the %s side: %s", s, rolesLine(view)))
		views = append(views, view)
	}
	unknown := func(why string) map[Side]Role {
		ps.rep.Unknown = why
		return map[Side]Role{SidePrimary: Unknown, SideSecondary: Unknown}
	}
	switch {
	case len(views) == 0:
		return unknown("the failover group answered on neither side")
	case len(views) == 2 && (views[0][SidePrimary] != views[1][SidePrimary] || views[0][SideSecondary] != views[1][SideSecondary]):
		return unknown(fmt.Sprintf("the two sides disagree: %s against %s", rolesLine(views[0]), rolesLine(views[1])))
	}
	roles := views[0]
	if oneEach := roles[SidePrimary] == Primary && roles[SideSecondary] == Secondary || roles[SidePrimary] == Secondary && roles[SideSecondary] == Primary; !oneEach {
		return unknown("the failover group reports " + rolesLine(roles) + ": not one primary and one secondary")
	}
	for _, s := range []Side{SidePrimary, SideSecondary} {
		db := ps.pair.Sides[s].DB
		if db == nil {
			continue
		}
		var got mssql.Role
		err := ps.call(ctx, func(ctx context.Context) (err error) {
			got, err = db.Role(ctx)
			return err
		})
		switch {
		case errors.Is(err, mssql.ErrInconsistentRole):
			return unknown(fmt.Sprintf("SSISDB on the %s side answered inconsistently: %v", s, err))
		case err != nil:
			ps.rep.Reading = append(ps.rep.Reading, fmt.Sprintf("SSISDB on the %s side: no answer, not cross-checked (%v)", s, err))
		case got == mssql.RoleNone:
			return unknown(fmt.Sprintf("SSISDB on the %s side has no geo-replication link (no row in sys.dm_geo_replication_link_status)", s))
		case string(roles[s]) != got.String():
			return unknown(fmt.Sprintf("the failover group says the %s side is %s, SSISDB there says %s", s, roles[s], got))
		default:
			ps.rep.Reading = append(ps.rep.Reading, fmt.Sprintf("SSISDB on the %s side: %s", s, got))
		}
	}
	return roles
}

// poll looks once at a side's start or stop in flight.
func (ps *pass) poll(ctx context.Context, s Side) {
	pd, ok := ps.st.Pending[pendingIR(s)]
	if !ok || pd.Token == "" {
		return
	}
	var done bool
	err := ps.call(ctx, func(ctx context.Context) (err error) {
		done, err = ps.pair.Sides[s].Factory.PollIR(ctx, pd.Token)
		return err
	})
	ir := ps.pair.Sides[s].IR
	switch {
	case err != nil && transient(err):
		ps.problem("%s: %s of runtime %s: poll failed, trying again next tick (%v)", s, pd.Op, ir, err)
	case err != nil:
		ps.failed(s, pd, err)
	case done:
		delete(ps.st.Pending, pendingIR(s))
		ps.change("%s: runtime %s: %s finished after %s", s, ir, pd.Op, ps.r.now().Sub(pd.Began).Round(time.Second))
	default:
		ps.inFlight(s, fmt.Sprintf("%s begun %s, in progress", pd.Op, pd.Began.UTC().Format(time.RFC3339)))
	}
}

// failed records a start or stop that failed, and when it is tried again.
func (ps *pass) failed(s Side, pd Pending, err error) {
	pd.Tries++
	wait := min(ps.r.backoff()<<min(pd.Tries-1, 16), ps.r.maxBackoff())
	pd.Token, pd.Error, pd.NextTry = "", err.Error(), ps.r.now().Add(wait)
	ps.st.Pending[pendingIR(s)] = pd
	ps.problem("%s: %s of runtime %s failed (try %d): %v; next try after %s", s, pd.Op, ps.pair.Sides[s].IR, pd.Tries, err, pd.NextTry.UTC().Format(time.RFC3339))
}

// runtime makes a side's runtime run or stop.
func (ps *pass) runtime(ctx context.Context, s Side, run bool) {
	sr := ps.rep.Sides[s]
	sr.IRWant = IRStopped
	if run {
		sr.IRWant = IRStarted
	}
	ps.rep.Sides[s] = sr
	e := ps.pair.Sides[s]
	var state string
	err := ps.call(ctx, func(ctx context.Context) (err error) {
		state, err = e.Factory.IRState(ctx, e.IR)
		return err
	})
	if err != nil {
		ps.problem("%s: runtime %s: state unreadable (%v)", s, e.IR, err)
		return
	}
	sr = ps.rep.Sides[s]
	sr.IRState = state
	ps.rep.Sides[s] = sr
	pd, pending := ps.st.Pending[pendingIR(s)]
	switch {
	case pending && pd.Token != "":
		return // polled above; the next tick looks again
	case pending && ps.r.now().Before(pd.NextTry):
		ps.inFlight(s, fmt.Sprintf("%s failed %d times; next try after %s: %s", pd.Op, pd.Tries, pd.NextTry.UTC().Format(time.RFC3339), pd.Error))
		return
	}
	op := ""
	switch {
	case run && (state == IRStopped || state == IRInitial):
		op = "start"
	case !run && state == IRStarted:
		op = "stop"
	case state == IRStarting || state == IRStopping:
		ps.inFlight(s, state+" (not begun by this app; waiting)")
		return
	}
	if op == "" {
		if pending { // a failed try whose goal has been reached since, or is no longer wanted
			delete(ps.st.Pending, pendingIR(s))
		}
		if state != sr.IRWant {
			ps.problem("%s: runtime %s is %s; want %s, and %s cannot be started or stopped from there", s, e.IR, state, sr.IRWant, state)
		}
		return
	}
	if ps.opts.DryRun {
		ps.change("%s: would %s runtime %s (now %s)", s, op, e.IR, state)
		return
	}
	if !pending || pd.Op != op {
		pd = Pending{Op: op}
	}
	pd.Began = ps.r.now()
	var token string
	err = ps.call(ctx, func(ctx context.Context) (err error) {
		token, err = e.Factory.BeginIR(ctx, e.IR, op == "start")
		return err
	})
	if err != nil {
		ps.failed(s, pd, err)
		return
	}
	pd.Token, pd.Error, pd.NextTry = token, "", time.Time{}
	if token == "" {
		delete(ps.st.Pending, pendingIR(s))
		ps.change("%s: runtime %s: %s done (was %s)", s, e.IR, op, state)
		return
	}
	ps.st.Pending[pendingIR(s)] = pd
	ps.change("%s: runtime %s: %s begun (was %s)", s, e.IR, op, state)
	ps.inFlight(s, op+" begun "+pd.Began.UTC().Format(time.RFC3339))
	// Stored now, not at the end of the pass: a start that takes half an hour must not
	// be lost to a crash in the next second.
	if saved, err := ps.r.Store.Save(context.WithoutCancel(ctx), *ps.st); err == nil {
		*ps.st = saved
	} else {
		ps.problem("%s: resume token of the %s not stored yet (%v); stored at the end of the pass", s, op, err)
	}
}

// triggers starts (run) or stops a side's listed triggers. It returns the error that
// kept it from listing them, or from stopping one of them (a trigger gone meanwhile
// cannot run, and is not an error), and whether that error was the listing's.
func (ps *pass) triggers(ctx context.Context, s Side, run bool) (err error, listing bool) {
	e := ps.pair.Sides[s]
	if len(e.Triggers) == 0 && e.TriggerAnnotation == "" {
		return nil, false
	}
	all, err := ps.listTriggers(ctx, s)
	if err != nil {
		ps.problem("%s: triggers of %s unreadable (%v)", s, e.Factory.Name(), err)
		return err, true
	}
	states := map[string]string{}
	var failed error
	for _, t := range all {
		states[t.Name] = t.State
		if run == (t.State == TriggerStarted) {
			continue
		}
		verb := map[bool]string{true: "start", false: "stop"}[run]
		if ps.opts.DryRun {
			ps.change("%s: would %s trigger %s/%s (now %s)", s, verb, e.Factory.Name(), t.Name, t.State)
			continue
		}
		err := ps.call(ctx, func(ctx context.Context) error { return e.Factory.SetTrigger(ctx, t.Name, run) })
		if err != nil {
			ps.problem("%s: trigger %s/%s: %s failed (%v)", s, e.Factory.Name(), t.Name, verb, err)
			if !drerr.Is(err, drerr.NotFound) && failed == nil {
				failed = err
			}
			continue
		}
		states[t.Name] = map[bool]string{true: TriggerStarted, false: TriggerStopped}[run]
		ps.change("%s: trigger %s/%s: %s (was %s)", s, e.Factory.Name(), t.Name, verb, t.State)
	}
	sr := ps.rep.Sides[s]
	sr.Triggers = states
	ps.rep.Sides[s] = sr
	return failed, false
}

// listTriggers reads a side's triggers that follow the role (by name, or carrying
// the annotation), reporting the named ones that do not exist.
func (ps *pass) listTriggers(ctx context.Context, s Side) ([]Trigger, error) {
	e := ps.pair.Sides[s]
	var all []Trigger
	err := ps.call(ctx, func(ctx context.Context) (err error) {
		all, err = e.Factory.Triggers(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Trigger
	found := map[string]bool{}
	for _, t := range all {
		named := slices.ContainsFunc(e.Triggers, func(n string) bool { return strings.EqualFold(n, t.Name) })
		if !named && (e.TriggerAnnotation == "" || !slices.Contains(t.Annotations, e.TriggerAnnotation)) {
			continue
		}
		found[strings.ToLower(t.Name)] = true
		out = append(out, t)
	}
	for _, n := range e.Triggers {
		if !found[strings.ToLower(n)] {
			ps.problem("%s: trigger %s/%s does not exist", s, e.Factory.Name(), n)
		}
	}
	return out, nil
}

// waitTriggers reports the triggers left until the serving runtime runs.
func (ps *pass) waitTriggers(s Side) {
	e := ps.pair.Sides[s]
	if len(e.Triggers) == 0 && e.TriggerAnnotation == "" {
		return
	}
	sr := ps.rep.Sides[s]
	sr.InFlight = strings.TrimPrefix(sr.InFlight+"; triggers start once runtime "+e.IR+" runs", "; ")
	ps.rep.Sides[s] = sr
	ps.rep.Converged = false
}

// schedules enables (primary) or disables a side's listed SQL Agent schedules, reading
// each first and updating only those that differ. It returns the error that kept it
// from reading them, or from changing one of them (a schedule that does not exist
// cannot run, and is not an error), and whether that error was the reading's.
func (ps *pass) schedules(ctx context.Context, s Side, enable bool) (err error, listing bool) {
	e := ps.pair.Sides[s]
	list, err := ps.listSchedules(ctx, s)
	if err != nil {
		return err, true
	}
	sr := ps.rep.Sides[s]
	defer func() { ps.rep.Sides[s] = sr }()
	sr.Schedules = nil
	var failed error
	for _, sc := range list {
		state := ScheduleState{ID: sc.ID, Name: sc.Name, Enabled: sc.Enabled}
		if sc.Enabled != enable {
			verb := map[bool]string{true: "enable", false: "disable"}[enable]
			switch {
			case ps.opts.DryRun:
				ps.change("%s: would %s SQL Agent schedule %d (%s)", s, verb, sc.ID, sc.Name)
			default:
				err := ps.call(ctx, func(ctx context.Context) error { return e.DB.SetScheduleEnabled(ctx, sc.ID, enable) })
				if err != nil {
					ps.problem("%s: SQL Agent schedule %d (%s): %s failed (%v)", s, sc.ID, sc.Name, verb, err)
					if !drerr.Is(err, drerr.NotFound) && failed == nil {
						failed = err
					}
					break
				}
				state.Enabled = enable
				ps.change("%s: SQL Agent schedule %d (%s): %sd", s, sc.ID, sc.Name, verb)
			}
		}
		sr.Schedules = append(sr.Schedules, state)
	}
	return failed, false
}

// listSchedules reads a side's listed SQL Agent schedules into its report, or says
// why none follows the role there. Schedules that do not exist are reported, and
// the others returned.
func (ps *pass) listSchedules(ctx context.Context, s Side) ([]mssql.Schedule, error) {
	e := ps.pair.Sides[s]
	sr := ps.rep.Sides[s]
	defer func() { ps.rep.Sides[s] = sr }()
	switch {
	case ps.pair.Kind == mssql.SQLDatabase:
		sr.Agent = "Azure SQL Database has no SQL Agent: only triggers and the runtime follow the role"
		return nil, nil
	case len(e.ScheduleIDs) == 0 && len(e.ScheduleNames) == 0:
		sr.Agent = "no SQL Agent schedules configured"
		return nil, nil
	case e.DB == nil:
		sr.Agent = "no SQL endpoint configured"
		return nil, nil
	}
	var list []mssql.Schedule
	err := ps.call(ctx, func(ctx context.Context) (err error) {
		list, err = e.DB.Schedules(ctx, e.ScheduleIDs, e.ScheduleNames)
		return err
	})
	if err != nil {
		ps.problem("%s: SQL Agent schedules: %v", s, err)
		if !drerr.Is(err, drerr.NotFound) {
			return nil, err
		}
	}
	sr.Schedules = nil
	for _, sc := range list {
		sr.Schedules = append(sr.Schedules, ScheduleState{ID: sc.ID, Name: sc.Name, Enabled: sc.Enabled})
	}
	return list, nil
}

// call runs f with the per-call time limit.
func (ps *pass) call(ctx context.Context, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, ps.r.callTimeout())
	defer cancel()
	return f(cctx)
}

func (ps *pass) change(format string, args ...any) {
	ps.rep.Changes = append(ps.rep.Changes, fmt.Sprintf(format, args...))
}

func (ps *pass) problem(format string, args ...any) {
	ps.rep.Problems = append(ps.rep.Problems, fmt.Sprintf(format, args...))
}

func (ps *pass) inFlight(s Side, what string) {
	sr := ps.rep.Sides[s]
	sr.InFlight = what
	ps.rep.Sides[s] = sr
}

// transient says whether an error may pass by itself (a side that fails or does not
// answer, throttling, our own deadline) rather than report the operation's failure.
// It says nothing about whether the side is down: see unreachable.
func transient(err error) bool {
	switch drerr.CodeOf(err) {
	case drerr.Unavailable, drerr.Unreachable, drerr.Throttled, drerr.Interrupted:
		return true
	}
	return false
}

// unreachable says whether err is a side that could not be reached at all: the only
// error stop-first may take for "that side is down". A slow, throttled, erroring or
// refusing answer says nothing about whether the side still runs packages.
func unreachable(err error) bool { return drerr.Is(err, drerr.Unreachable) }

// primaryOf is the side holding the Primary role (the primary side if neither does).
func primaryOf(roles map[Side]Role) Side {
	if roles[SideSecondary] == Primary {
		return SideSecondary
	}
	return SidePrimary
}

func rolesLine(roles map[Side]Role) string {
	return fmt.Sprintf("primary side %s, secondary side %s", orUnknown(roles[SidePrimary]), orUnknown(roles[SideSecondary]))
}

func orUnknown(r Role) Role {
	if r == "" {
		return Unknown
	}
	return r
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Reconciler) callTimeout() time.Duration { return orDefault(r.CallTimeout, 10*time.Second) }
func (r *Reconciler) backoff() time.Duration     { return orDefault(r.Backoff, time.Minute) }
func (r *Reconciler) maxBackoff() time.Duration  { return orDefault(r.MaxBackoff, 30*time.Minute) }
func (r *Reconciler) lockTTL() time.Duration     { return orDefault(r.LockTTL, 2*time.Minute) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// PairStatus is an SSIS pair as the status page shows it: the last pass's report, the
// side serving SSISDB after an attach-ir, and what is in flight.
type PairStatus struct {
	Report
	// Serving is set while an attach-ir keeps the runtime away from the primary's side.
	Serving Side `json:",omitempty"`
	// InFlight lists starts and stops under way or waiting to be tried again.
	InFlight []string `json:",omitempty"`
}

// Status reads every pair's state, without calling Azure. Resume tokens are left out:
// they are operation URLs, of no use to a reader.
func (r *Reconciler) Status(ctx context.Context) ([]PairStatus, error) {
	var out []PairStatus
	for _, name := range slices.Sorted(maps.Keys(r.Pairs)) {
		st, err := r.Store.Load(ctx, name)
		if err != nil {
			return out, err
		}
		ps := PairStatus{Report: st.Last, Serving: st.Serving}
		ps.Pair = name
		for _, key := range slices.Sorted(maps.Keys(st.Pending)) {
			pd := st.Pending[key]
			line := fmt.Sprintf("%s: %s begun %s", key, pd.Op, pd.Began.UTC().Format(time.RFC3339))
			if strings.HasPrefix(key, "fence|") {
				line = fmt.Sprintf("%s: %s: not done since %s, %d tries (%s)", key, pd.Op, pd.Began.UTC().Format(time.RFC3339), pd.Tries, pd.Error)
				if !pd.NextTry.IsZero() {
					line += ", next try after " + pd.NextTry.UTC().Format(time.RFC3339)
				}
				ps.InFlight = append(ps.InFlight, line)
				continue
			}
			if pd.Tries > 0 {
				line += fmt.Sprintf(", failed %d times (%s), next try after %s", pd.Tries, pd.Error, pd.NextTry.UTC().Format(time.RFC3339))
			}
			ps.InFlight = append(ps.InFlight, line)
		}
		out = append(out, ps)
	}
	return out, nil
}
