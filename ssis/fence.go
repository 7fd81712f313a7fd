package ssis

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Stop-first. The standby's triggers are stopped and its SQL Agent schedules
// disabled before the serving side's are started or enabled, so that no package is
// schedulable on both sides at once. Unknown is not down: a standby that answers
// slowly, throttled, with errors or with a refusal may still run packages, and the
// serving side waits for it (the stop is tried again after a back-off). Only a
// standby that cannot be reached at all (drerr.Unreachable) is taken as down: the
// serving side goes ahead, the report says which side and why, and the stop is tried
// on every pass, so that it lands as soon as the side answers. An operator's forced
// operation (Options.Force) also goes ahead, saying so.

// fenceKind names what stop-first turns off on a standby.
type fenceKind string

const (
	fenceTriggers  fenceKind = "triggers"
	fenceSchedules fenceKind = "schedules"
)

// pendingFence is the State.Pending key of a standby's triggers or schedules that
// are not yet known to be off.
func pendingFence(k fenceKind, s Side) string { return "fence|" + string(k) + "|" + string(s) }

// fenced is what turning a standby's triggers or schedules off came to.
type fenced struct {
	kind fenceKind
	side Side
	// err is why they are not all known to be off; nil once they are (or there are
	// none, or they do not exist).
	err error
	// down: the side could not be reached at all, and is taken as down.
	down bool
}

// fence turns a standby's triggers (or schedules) off, unless the back-off of a
// failed try is still running, and records in the pair's state what is left to do.
func (ps *pass) fence(ctx context.Context, kind fenceKind, s Side) fenced {
	f := fenced{kind: kind, side: s}
	key := pendingFence(kind, s)
	pd, pending := ps.st.Pending[key]
	if pending && !ps.opts.DryRun && ps.r.now().Before(pd.NextTry) {
		f.err = fmt.Errorf("%s of the %s side: try %d failed (%s); next try after %s", kind, s, pd.Tries, pd.Error, pd.NextTry.UTC().Format(time.RFC3339))
		return f
	}
	var listing bool
	if kind == fenceTriggers {
		f.err, listing = ps.triggers(ctx, s, false)
	} else {
		f.err, listing = ps.schedules(ctx, s, false)
	}
	// Only the side's first answer can tell it is down: one that answered the
	// listing and then failed to connect is there, and may still run packages.
	f.down = f.err != nil && listing && unreachable(f.err)
	if ps.opts.DryRun {
		return f
	}
	if f.err == nil {
		delete(ps.st.Pending, key)
		return f
	}
	if !pending {
		pd = Pending{Op: fenceOp(kind), Began: ps.r.now()}
	}
	pd.Tries++
	pd.Error, pd.NextTry = f.err.Error(), time.Time{}
	if !f.down {
		pd.NextTry = ps.r.now().Add(min(ps.r.backoff()<<min(pd.Tries-1, 16), ps.r.maxBackoff()))
	}
	ps.st.Pending[key] = pd
	return f
}

func fenceOp(k fenceKind) string {
	if k == fenceTriggers {
		return "stop triggers"
	}
	return "disable SQL Agent schedules"
}

// settleFences drops the fences that no longer apply: the serving side's triggers,
// and the primary side's schedules, are to run.
func (ps *pass) settleFences(serving, primary Side) {
	if ps.opts.DryRun {
		return
	}
	delete(ps.st.Pending, pendingFence(fenceTriggers, serving))
	delete(ps.st.Pending, pendingFence(fenceSchedules, primary))
}

// goAhead says whether side on may turn on what f was to turn off on the standby:
// yes once it is off, and when the standby is down or the operation forced, which
// the report then says.
func (ps *pass) goAhead(f fenced, on Side) bool {
	switch {
	case f.err == nil:
		return true
	case f.down:
		ps.problem("%s: the %s side's %s are unreachable: no connection within the call budget of %s (%v); that side is taken as down and the %s side's go ahead; its %s are turned off as soon as it answers",
			on, f.side, f.kind, ps.r.callTimeout(), f.err, on, f.kind)
		return true
	case ps.opts.Force:
		// From here a package may run on both sides: the standby's stop is what ends
		// that, so it is not put off behind the back-off its failures built up.
		ps.hurry(f)
		ps.problem("%s: forced: the %s side's %s could not be turned off (%v); the %s side's go ahead at the operator's word, and may run on both sides until the %s side's are off (%s)",
			on, f.side, f.kind, f.err, on, f.side, ps.retry(f))
		return true
	}
	return false
}

// hurry shortens a held fence's back-off to the first step's when a package may
// already run on both sides: the fence is what ends that, and must not wait half
// an hour behind a throttled side.
func (ps *pass) hurry(f fenced) {
	key := pendingFence(f.kind, f.side)
	if pd, ok := ps.st.Pending[key]; ok && !ps.opts.DryRun {
		if soon := ps.r.now().Add(ps.r.backoff()); pd.NextTry.After(soon) {
			pd.NextTry = soon
			ps.st.Pending[key] = pd
		}
	}
}

// retry says when a held fence is tried again.
func (ps *pass) retry(f fenced) string {
	if pd, ok := ps.st.Pending[pendingFence(f.kind, f.side)]; ok && !pd.NextTry.IsZero() {
		return "tried again after " + pd.NextTry.UTC().Format(time.RFC3339)
	}
	return "tried again on the next pass"
}

// heldTriggers reports the serving side's triggers that wait for the standby's to
// stop. It reads them, to say truthfully which are not started, and which were
// started already and may now run on both sides.
func (ps *pass) heldTriggers(ctx context.Context, s Side, f fenced) {
	e := ps.pair.Sides[s]
	if len(e.Triggers) == 0 && e.TriggerAnnotation == "" {
		return
	}
	list, err := ps.listTriggers(ctx, s)
	if err != nil {
		ps.problem("%s: triggers not started: the %s side's could not be stopped (%v), and a pipeline must not run on both; this side's are unreadable (%v)", s, f.side, f.err, err)
		return
	}
	standby := ps.rep.Sides[f.side].Triggers
	states := map[string]string{}
	var waiting []string
	for _, t := range list {
		states[t.Name] = t.State
		if t.State != TriggerStarted {
			waiting = append(waiting, t.Name)
			continue
		}
		other, known := lookupFold(standby, t.Name)
		if !known || other == TriggerStarted {
			ps.hurry(f)
		}
		switch {
		case known && other == TriggerStarted:
			ps.problem("%s: trigger %s runs on both sides: the %s side's could not be stopped (%v); %s", s, t.Name, f.side, f.err, ps.retry(f))
		case !known:
			ps.problem("%s: trigger %s is started, and the %s side's could not be stopped (%v): it may run on both sides; %s", s, t.Name, f.side, f.err, ps.retry(f))
		}
	}
	if len(waiting) > 0 {
		ps.problem("%s: triggers %s not started: the %s side's could not be stopped (%v), and a pipeline must not run on both; %s", s, strings.Join(waiting, ", "), f.side, f.err, ps.retry(f))
	}
	sr := ps.rep.Sides[s]
	sr.Triggers = states
	ps.rep.Sides[s] = sr
}

// heldSchedules reports the primary side's SQL Agent schedules that wait for the
// standby's to be disabled, as heldTriggers does.
func (ps *pass) heldSchedules(ctx context.Context, s Side, f fenced) {
	list, err := ps.listSchedules(ctx, s)
	if err != nil {
		ps.problem("%s: SQL Agent schedules not enabled: the %s side's could not be disabled (%v), and a job must not run on both", s, f.side, f.err)
		return
	}
	standby := map[string]bool{}
	for _, sc := range ps.rep.Sides[f.side].Schedules {
		standby[strings.ToLower(sc.Name)] = standby[strings.ToLower(sc.Name)] || sc.Enabled
	}
	var waiting []string
	for _, sc := range list {
		if !sc.Enabled {
			waiting = append(waiting, fmt.Sprintf("%d (%s)", sc.ID, sc.Name))
			continue
		}
		other, known := standby[strings.ToLower(sc.Name)]
		if !known || other {
			ps.hurry(f)
		}
		switch {
		case known && other:
			ps.problem("%s: SQL Agent schedule %d (%s) is enabled on both sides: the %s side's could not be disabled (%v); %s", s, sc.ID, sc.Name, f.side, f.err, ps.retry(f))
		case !known:
			ps.problem("%s: SQL Agent schedule %d (%s) is enabled, and the %s side's could not be disabled (%v): it may run on both sides; %s", s, sc.ID, sc.Name, f.side, f.err, ps.retry(f))
		}
	}
	if len(waiting) > 0 {
		ps.problem("%s: SQL Agent schedules %s not enabled: the %s side's could not be disabled (%v), and a job must not run on both; %s", s, strings.Join(waiting, ", "), f.side, f.err, ps.retry(f))
	}
}

func lookupFold(m map[string]string, name string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
