package sim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/session"
	"integration-dr/ssis"
)

// The invariants, by the names the output uses.
const (
	InvNoDuplicateSent  = "no-duplicate-sent"
	InvNoReceivedLost   = "no-received-lost"
	InvNeverLowered     = "generated-never-lowered"
	InvOnePlanPerPair   = "one-plan-per-pair"
	InvSSISSingleSide   = "ssis-single-side"
	InvOperationsEnd    = "operations-end"
	learnRunsBeforeLoss = 2
)

// Invariants lists every invariant the simulation checks.
var Invariants = []string{InvNoDuplicateSent, InvNoReceivedLost, InvNeverLowered, InvOnePlanPerPair, InvSSISSingleSide, InvOperationsEnd}

type sentRec struct {
	side replication.Region
	step int
}

// recvRec is one received number: where it was recorded, and how many replication
// runs since could have brought it to each side.
type recvRec struct {
	on    map[replication.Region]int // side → step it was recorded there
	learn map[replication.Region]int
	// wiped: the side was rebuilt after the number was recorded elsewhere; only a
	// run that compares the sides whole (a full sync, a reconciliation, a merge-back)
	// can bring it there again, not an incremental scan past its changedTime.
	wiped map[replication.Region]bool
}

// ledger is the world's memory of what partners were sent and what was received.
type ledger struct {
	sentNumbers map[string]sentRec // agreement|level|cycle|number
	cycles      map[string]int     // agreement|level → rollovers so far (any side)
	recv        map[string]*recvRec
	recvKeys    []string
}

func (l *ledger) init() {
	l.sentNumbers, l.cycles, l.recv = map[string]sentRec{}, map[string]int{}, map[string]*recvRec{}
}

func (l *ledger) wrap(agr string, lvl failover.Level) { l.cycles[agr+"|"+lvl.String()]++ }

// sent records a number sent; a number counts as a duplicate only within one rollover
// cycle of its session (a cycle ends when any side wraps).
func (l *ledger) sent(agr string, lvl failover.Level, n int64, side replication.Region, step int) (sentRec, bool) {
	key := fmt.Sprintf("%s|%v|%d|%d", agr, lvl, l.cycles[agr+"|"+lvl.String()], n)
	if prev, ok := l.sentNumbers[key]; ok {
		return prev, true
	}
	l.sentNumbers[key] = sentRec{side: side, step: step}
	return sentRec{}, false
}

func (l *ledger) rec(agr string, k int64) *recvRec {
	key := fmt.Sprintf("%s|%d", agr, k)
	r, ok := l.recv[key]
	if !ok {
		r = &recvRec{on: map[replication.Region]int{}, learn: map[replication.Region]int{}}
		l.recv[key] = r
		l.recvKeys = append(l.recvKeys, key)
	}
	return r
}

func (l *ledger) recorded(agr string, k int64, side replication.Region, step int) {
	l.rec(agr, k).on[side] = step
}

// shouldHold says why side must already hold a received number ("" if it need not):
// it recorded it itself, or enough replication runs could have brought it there.
func (l *ledger) shouldHold(agr string, k int64, side replication.Region) string {
	r, ok := l.recv[fmt.Sprintf("%s|%d", agr, k)]
	if !ok {
		return ""
	}
	if step, ok := r.on[side]; ok {
		return fmt.Sprintf("it recorded it itself at step %d", step)
	}
	if n := r.learn[side]; n >= learnRunsBeforeLoss {
		var from []string
		for s, step := range r.on {
			from = append(from, fmt.Sprintf("%s at step %d", s, step))
		}
		sort.Strings(from)
		return fmt.Sprintf("recorded on %v; %d completed replication runs since, with both sides answering and that side active or fenced", from, n)
	}
	return ""
}

func (l *ledger) rebuilt(side replication.Region) {
	for _, r := range l.recv {
		delete(r.on, side)
		delete(r.learn, side)
		if r.wiped == nil {
			r.wiped = map[replication.Region]bool{}
		}
		r.wiped[side] = true
	}
}

// receivedSnapshot is, per received number, the sides holding it now.
func (l *ledger) receivedSnapshot() map[string][]replication.Region {
	out := map[string][]replication.Region{}
	for _, key := range l.recvKeys {
		for _, s := range []replication.Region{replication.Primary, replication.Secondary} {
			if _, ok := l.recv[key].on[s]; ok {
				out[key] = append(out[key], s)
			}
		}
	}
	return out
}

// learned counts a completed replication run as a chance to learn, for every number
// recorded on a side X before it, on the other side Y, when both sides answered and X
// was the active side or fenced (every intake off): received numbers merge as a union,
// whichever way the stream runs.
func (w *World) learned(ar replication.ActiveRegion, before map[replication.Region]Mode, snap map[string][]replication.Region, whole bool) {
	for _, r := range w.regionList() {
		if before[r.name] != Answering || r.mode != Answering {
			return
		}
	}
	fenced := map[replication.Region]bool{}
	for _, r := range w.regionList() {
		fenced[r.name] = !w.intake(r, failover.X12) && !w.intake(r, failover.EDIFACT)
	}
	for _, key := range w.ledger.recvKeys {
		rec := w.ledger.recv[key]
		for _, x := range snap[key] {
			if x != ar.Active && !fenced[x] {
				continue
			}
			y := x.Other()
			if _, ok := rec.on[y]; !ok && (whole || !rec.wiped[y]) {
				rec.learn[y]++
			}
		}
	}
}

// violate records an invariant broken by the event under way. focus names what the
// trace should keep besides commands, timers and region changes: the session, the
// operation.
func (w *World) violate(inv, detail string, focus ...string) {
	w.counts[inv]++
	w.pending = append(w.pending, Violation{Invariant: inv, Step: w.step, Detail: detail, focus: focus})
}

// relevant says whether a trace line bears on a violation: it mentions what the
// violation is about, or it is a command, a timer that did something, a crash or a
// region's change.
func relevant(line string, focus []string) bool {
	for _, f := range focus {
		if strings.Contains(line, f) {
			return true
		}
	}
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return true // a nested event's line
	}
	switch Kind(fields[2]) {
	case SetMode, Rebuild, Crash, Alert, Propose, Deliver, Direct, Duplicate, Interleave, GroupFlip, SSISAlert:
		return !strings.Contains(line, "skipped")
	case Timer, SSISTimer:
		return !strings.Contains(line, " 0 ops")
	}
	return false
}

// flush attaches the trace so far to the violations found by the event just logged,
// keeping the first of each invariant.
func (w *World) flush() {
	for _, v := range w.pending {
		seen := false
		for _, old := range w.violations {
			if old.Invariant == v.Invariant {
				seen = true
			}
		}
		if seen {
			continue
		}
		n := w.opts.traceLen()
		var lines []string
		for i, line := range w.trace {
			if i == len(w.trace)-1 || relevant(line, v.focus) {
				lines = append(lines, line)
			}
		}
		v.Trace = lines[max(0, len(lines)-n):]
		w.violations = append(w.violations, v)
	}
	w.pending = nil
}

// check runs the invariants that hold after every event.
func (w *World) check(string) {
	ctx := context.Background()
	// generated-never-lowered
	for _, r := range w.regionList() {
		defer func() { r.w.mu.Lock(); clear(r.writtenOff); r.w.mu.Unlock() }()
		for _, a := range w.agreements {
			on := w.intake(r, a.Protocol)
			for _, l := range sendLevels {
				name := failover.SessionName(a.Name, l)
				s, err := r.acct.Get(ctx, name)
				if err != nil || s.ChangedTime.Equal(r.lastStamp[name]) {
					continue // unchanged since the last check
				}
				r.lastStamp[name] = s.ChangedTime
				n, err := strconv.ParseInt(session.ParseContent(s.Content).ControlNumber, 10, 64)
				if err != nil {
					continue
				}
				prev, seen := r.lastGen[name]
				r.lastGen[name] = n
				r.w.mu.Lock()
				on := on && !r.writtenOff[name]
				r.w.mu.Unlock()
				b := a.Bounds[l]
				half := b.Lower + (b.Upper-b.Lower)/2
				rollover := seen && b.Rollover && prev > half && n <= half
				if seen && b.Rollover && n < prev && (!on || rollover) && w.lastSent[string(r.name)+"|"+name] != n {
					// The app moved a side's number down while that side was not
					// sending (a bump that wrapped it, wherever in the range it
					// landed, or the copy of one), or across its range: a new cycle
					// starts, as at a connector's own wrap.
					w.ledger.wrap(a.Name, l)
				}
				if !seen || n >= prev || !on || rollover {
					continue
				}
				w.violate(InvNeverLowered, fmt.Sprintf("%s on %s (intake on) went from %d down to %d", name, r.name, prev, n), name, "replicate")
			}
		}
	}
	// A forced SSIS operation that reached its reconcile step may have started the
	// serving side past a standby that answered but did not stop (see ssisForced).
	if w.ssisWorld != nil && w.journal.writes != w.checkedWrites {
		ops, _ := w.journal.inner.List(ctx, SSISPair, 0)
		for _, op := range ops {
			if op.Force && !op.DryRun && !w.ssisForcedSeen[op.ID] && reachedReconcile(op) {
				if w.ssisForcedSeen == nil {
					w.ssisForcedSeen = map[string]bool{}
				}
				w.ssisForcedSeen[op.ID], w.ssisForced = true, true
			}
		}
	}
	// one-plan-per-pair
	for _, pair := range []string{IAPair, SSISPair} {
		if w.journal.writes == w.checkedWrites {
			break // the journal has not changed since the last check
		}
		ops, _ := w.journal.inner.List(ctx, pair, 0)
		var acting []string
		for _, op := range ops {
			if op.DryRun || op.Action == command.Drill || op.Action == command.Reconcile {
				continue
			}
			if op.Status == journal.Running || op.Status == journal.Waiting {
				acting = append(acting, op.ID+" "+string(op.Status))
			}
		}
		if len(acting) > 1 {
			sort.Strings(acting)
			w.violate(InvOnePlanPerPair, fmt.Sprintf("pair %s has %d operations acting at once: %v", pair, len(acting), acting))
		}
	}
	w.checkedWrites = w.journal.writes
	// ssis-single-side
	if w.ssisWorld != nil {
		if w.regions[replication.Primary].mode != Unreachable && w.regions[replication.Secondary].mode != Unreachable && len(w.ssisFence) == 0 && !w.ssisForced {
			if w.ssisWorld.Trigger(ssis.SidePrimary, "nightly") == ssis.TriggerStarted && w.ssisWorld.Trigger(ssis.SideSecondary, "nightly") == ssis.TriggerStarted {
				w.violate(InvSSISSingleSide, "trigger nightly is started on both sides", "ssis", "group-flip")
			}
			if w.ssisWorld.Schedule(ssis.SidePrimary, 7) && w.ssisWorld.Schedule(ssis.SideSecondary, 7) {
				w.violate(InvSSISSingleSide, "Agent schedule 7 is enabled on both sides", "ssis", "group-flip")
			}
		}
	}
}

// reachedReconcile says whether an SSIS operation is at or past its reconcile step:
// every step before it is done or skipped. The journal shows a step started only
// once it ends or waits, and the step acts before that (and a nested event may look
// in between), so the step before it ending is the mark.
func reachedReconcile(op journal.Operation) bool {
	for _, st := range op.Steps {
		if st.Name == ssis.StepReconcile {
			return true
		}
		if st.Status != journal.StepDone && st.Status != journal.StepSkipped {
			return false
		}
	}
	return false
}

// checkEnd runs the invariants judged once the world is quiet.
func (w *World) checkEnd() {
	ctx := context.Background()
	for _, pair := range []string{IAPair, SSISPair} {
		ops, _ := w.journal.inner.List(ctx, pair, 0)
		sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
		for _, op := range ops {
			if !op.Status.Terminal() {
				w.violate(InvOperationsEnd, fmt.Sprintf("operation %s (%s on %s) is still %s after the quiet phase: %s", op.ID, op.Action, pair, op.Status, opLine(op)), op.ID+" ", op.ID+"/", op.ID+":")
			}
		}
	}
	for _, key := range w.ledger.recvKeys {
		rec := w.ledger.recv[key]
		for _, r := range w.regionList() {
			_, own := rec.on[r.name]
			if !own && rec.learn[r.name] < learnRunsBeforeLoss {
				continue
			}
			agr, k := splitKey(key)
			if _, err := r.acct.Get(ctx, receivedName(w.agreementByName(agr), k)); err != nil {
				w.violate(InvNoReceivedLost, fmt.Sprintf("at the end %s lacks received %s %d (%d learning runs)", r.name, agr, k, rec.learn[r.name]), fmt.Sprintf("%s-%d", agr, k), "replicate")
			}
		}
	}
}

func splitKey(key string) (string, int64) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '|' {
			k, _ := strconv.ParseInt(key[i+1:], 10, 64)
			return key[:i], k
		}
	}
	return key, 0
}

func (w *World) agreementByName(name string) *agreement {
	for _, a := range w.agreements {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func receivedName(a *agreement, k int64) string {
	prefix := "X12-ICN-"
	if a.Protocol == failover.EDIFACT {
		prefix = "Edifact-ICN-"
	}
	return fmt.Sprintf("%s%s-%d", prefix, a.Name, k)
}
