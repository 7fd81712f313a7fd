package sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
	"integration-dr/ssis"
)

// Kind names an event.
type Kind string

// The events.
const (
	Send       Kind = "send"       // the connector on a side sends an interchange
	Receive    Kind = "receive"    // a partner sends an interchange (or resends one)
	Replicate  Kind = "replicate"  // a replication run (Engine.Run)
	SetMode    Kind = "mode"       // a region starts answering another way
	Rebuild    Kind = "rebuild"    // an unreachable old region comes back rebuilt, without its workflows
	Cancel     Kind = "cancel"     // an operator cancels, with force, an operation that can never end
	Alert      Kind = "alert"      // an alert or operator puts a command on the queue
	Propose    Kind = "propose"    // a command proposed, and its confirm queued
	Deliver    Kind = "deliver"    // the queue delivers a message
	Duplicate  Kind = "duplicate"  // a command again: same message (redelivery) or another
	Direct     Kind = "direct"     // drctl --direct: a command with no delivery
	Timer      Kind = "timer"      // the operations timer (Runner.Advance)
	SSISTimer  Kind = "ssis-timer" // the SSIS runner's timer (Runner.Advance)
	SSISRecon  Kind = "ssis-recon" // the SSIS reconcile timer (ReconcileAll)
	SSISAlert  Kind = "ssis-alert" // an ssis-failover or attach-ir command queued
	GroupFlip  Kind = "group-flip" // the SQL failover group fails over by itself
	Crash      Kind = "crash"      // the next attempt dies at a seeded write
	Tick       Kind = "tick"       // time passes
	Interleave Kind = "interleave" // an attempt with another event run in its middle
)

type kindWeight struct {
	kind   Kind
	weight int
}

// kinds and their base weights; each seed scales them.
var kinds = []kindWeight{
	{Send, 30}, {Receive, 14}, {Replicate, 14}, {SetMode, 6}, {Rebuild, 1}, {Alert, 4}, {Propose, 1},
	{Deliver, 10}, {Duplicate, 2}, {Direct, 2}, {Timer, 8}, {SSISTimer, 3}, {SSISRecon, 5}, {SSISAlert, 1},
	{GroupFlip, 1}, {Crash, 3}, {Tick, 4}, {Interleave, 5},
}

// Event is one step of a simulation: what happens, with every choice it needs made.
// A script of Events replays a chosen interleaving.
type Event struct {
	Kind      Kind
	Side      replication.Region
	Agreement int
	Level     failover.Level
	Mode      Mode
	Action    command.Action
	Force     bool
	Dry       bool
	Resend    bool
	Msg       int // which message (index modulo the queue)
	Variant   int // replicate: 0 plain, 1 late claim, 2 lease overrun
	Dur       time.Duration
	Nested    *Event // interleave: the event run in the middle
	At        int    // interleave: at which single-threaded call site
	Inner     *Event // interleave: the event whose middle it is
	Target    string // cancel: the operation to end
}

func (e Event) String() string {
	switch e.Kind {
	case Send:
		return fmt.Sprintf("send %s a%d-%v", e.Side, e.Agreement, e.Level)
	case Receive:
		s := fmt.Sprintf("receive %s a%d", e.Side, e.Agreement)
		if e.Resend {
			s += " resend"
		}
		return s
	case Replicate:
		return "replicate" + [...]string{"", " late-claim", " lease-overrun"}[e.Variant%3]
	case SetMode:
		return fmt.Sprintf("mode %s %s", e.Side, e.Mode)
	case Rebuild:
		return fmt.Sprintf("rebuild %s", e.Side)
	case Cancel:
		return "cancel " + e.Target
	case Alert, Direct:
		s := fmt.Sprintf("%s %s", e.Kind, e.Action)
		if e.Force {
			s += " force"
		}
		if e.Dry {
			s += " dry"
		}
		return s
	case Propose:
		return fmt.Sprintf("propose %s", e.Action)
	case Deliver:
		return fmt.Sprintf("deliver #%d", e.Msg)
	case Duplicate:
		return fmt.Sprintf("duplicate #%d resend=%t", e.Msg, e.Resend)
	case SSISAlert:
		s := fmt.Sprintf("ssis-alert %s %s", e.Action, e.Side)
		if e.Force {
			s += " force"
		}
		return s
	case Crash:
		return fmt.Sprintf("crash 1/%d", e.Variant)
	case Tick:
		return fmt.Sprintf("tick %s", e.Dur)
	case Interleave:
		return fmt.Sprintf("interleave {%s} at %d in {%s}", e.Nested, e.At, e.Inner)
	}
	return string(e.Kind)
}

// pick draws the next event.
func (w *World) pick() Event {
	total := 0
	for _, wt := range w.weights {
		total += wt
	}
	x := w.rng.Intn(total)
	var k Kind
	for i, wt := range w.weights {
		if x < wt {
			k = kinds[i].kind
			break
		}
		x -= wt
	}
	return w.fill(k)
}

func (w *World) side() replication.Region {
	if w.rng.Intn(2) == 0 {
		return replication.Primary
	}
	return replication.Secondary
}

// fill makes an event's choices.
func (w *World) fill(k Kind) Event {
	e := Event{Kind: k, Side: w.side(), Agreement: w.rng.Intn(len(w.agreements)), Msg: w.rng.Intn(1 << 20)}
	e.Level = sendLevels[w.rng.Intn(len(sendLevels))]
	switch k {
	case Receive:
		e.Resend = w.rng.Intn(3) == 0
	case Replicate:
		e.Variant = []int{0, 0, 0, 1, 2}[w.rng.Intn(5)]
	case SetMode:
		e.Mode = Mode(w.rng.Intn(int(numModes)))
		if w.rng.Intn(3) == 0 {
			e.Mode = Answering
		}
	case Alert, Direct, Propose:
		ar := w.active()
		e.Action = command.Failover
		if ar.Active == replication.Secondary {
			e.Action = command.Fallback
		}
		switch w.rng.Intn(10) {
		case 0:
			e.Action = command.Drill
		case 1:
			if e.Action == command.Failover {
				e.Action = command.Fallback
			} else {
				e.Action = command.Failover
			}
		}
		e.Force = w.rng.Intn(8) == 0
		e.Dry = w.rng.Intn(8) == 0
	case Duplicate:
		e.Resend = w.rng.Intn(2) == 0
	case SSISAlert:
		e.Action = command.SSISFailover
		if w.rng.Intn(3) == 0 {
			e.Action = command.AttachIR
		}
		e.Force = w.rng.Intn(4) == 0
	case Crash:
		e.Variant = 2 + w.rng.Intn(5)
	case Tick:
		e.Dur = []time.Duration{30 * time.Second, 2 * time.Minute, 6 * time.Minute, 20 * time.Minute, 2 * time.Hour}[w.rng.Intn(5)]
	case Interleave:
		inner := []Kind{Deliver, Timer, Replicate, Replicate, Direct}[w.rng.Intn(5)]
		nested := []Kind{Replicate, Replicate, Send, Send, Receive, Deliver, Timer, Tick, SetMode}[w.rng.Intn(9)]
		ie, ne := w.fill(inner), w.fill(nested)
		if ne.Kind == Tick {
			ne.Dur = []time.Duration{20 * time.Second, 90 * time.Second, 3 * time.Minute}[w.rng.Intn(3)]
		}
		e.Inner, e.Nested, e.At = &ie, &ne, 1+w.rng.Intn(8)
	}
	return e
}

// apply runs one event and says what came of it, in a few words.
func (w *World) apply(e Event) string {
	ctx := context.Background()
	switch e.Kind {
	case Send:
		return w.send(e)
	case Receive:
		return w.receive(e)
	case Replicate:
		return w.replicate(ctx, e.Variant)
	case SetMode:
		r := w.regions[e.Side]
		was := r.mode
		r.mode = e.Mode
		if e.Mode == Unreachable || e.Mode == Slow {
			r.limited = true
		}
		if e.Mode == Unreachable {
			if w.ssisFence == nil {
				w.ssisFence = map[replication.Region]bool{}
			}
			w.ssisFence[e.Side] = true
		}
		return fmt.Sprintf("%s -> %s", was, e.Mode)
	case Rebuild:
		r := w.regions[e.Side]
		if r.mode != Unreachable {
			return "skipped: only an unreachable region comes back rebuilt"
		}
		if _, ar, _ := w.store.inner.Load(ctx, IAPair); ar.Active == r.name {
			return "skipped: only an old side comes back rebuilt"
		}
		r.acct = replicationtest.NewAccount(w.Now().Add(r.offset))
		r.acct.PageSize = 4 + int(hash64(w.seed, "page", w.step)%8)
		for _, f := range r.flows {
			f.mu.Lock()
			f.enabled, f.gone = false, true
			f.mu.Unlock()
		}
		r.mode, r.limited = Answering, false
		r.lastGen, r.lastStamp = map[string]int64{}, map[string]time.Time{}
		w.clearUnreachableSends(r)
		w.ledger.rebuilt(r.name)
		return "emptied account, rebuilt without its intake workflows (404), answering"
	case Cancel:
		c := w.newCommand(command.Cancel, IAPair, true, false)
		c.Target, c.Reason = e.Target, "the old region was rebuilt: its fence can never land"
		return c.ID + ": " + w.submit(ctx, c)
	case Alert:
		c := w.newCommand(e.Action, IAPair, e.Force, e.Dry)
		w.enqueue(c)
		return "queued " + c.ID
	case Propose:
		c := w.newCommand(e.Action, IAPair, e.Force, false)
		op, err := w.runner.Propose(ctx, c, journal.Source{AlertRule: "not-allow-listed"}, w.Now())
		if err != nil {
			return "propose: " + short(err)
		}
		w.enqueue(command.Command{ID: c.ID + "-confirm", Action: command.Confirm, Pair: IAPair, Target: c.ID, RequestedBy: "operator"})
		return fmt.Sprintf("%s %s; confirm queued", op.ID, op.Status)
	case Deliver:
		return w.deliver(ctx, e.Msg)
	case Duplicate:
		if len(w.completed)+len(w.queue) == 0 {
			return "skipped: no message yet"
		}
		all := append(append([]*message(nil), w.completed...), w.queue...)
		m := all[e.Msg%len(all)]
		if e.Resend {
			w.queue = append(w.queue, &message{id: m.id, cmd: m.cmd, deliveries: m.deliveries})
			return "message " + m.id + " delivered again"
		}
		id := w.enqueue(m.cmd)
		return fmt.Sprintf("command %s again in message %s", m.cmd.ID, id)
	case Direct:
		var c command.Command
		if len(w.commands) > 0 && e.Msg%2 == 0 {
			c = w.commands[e.Msg%len(w.commands)]
		} else {
			c = w.newCommand(e.Action, IAPair, e.Force, e.Dry)
		}
		return c.ID + ": " + w.submit(ctx, c)
	case Timer:
		ops, err := w.runner.Advance(ctx)
		return fmt.Sprintf("%d ops%s", len(ops), errSuffix(err)) + opsLine(ops)
	case SSISTimer:
		if w.ssisRunner == nil {
			return "skipped: no SSIS"
		}
		ops, err := w.ssisRunner.Advance(ctx)
		return fmt.Sprintf("%d ops%s", len(ops), errSuffix(err)) + opsLine(ops)
	case SSISRecon:
		if w.ssisRec == nil {
			return "skipped: no SSIS"
		}
		reps, err := w.ssisRec.ReconcileAll(ctx)
		out := errSuffix(err)
		clean := err == nil
		for _, r := range reps {
			out += fmt.Sprintf(" changes=%d problems=%d", len(r.Changes), len(r.Problems))
			// A pass that could not tell the roles looked at nothing and fenced
			// nothing: it says so in Unknown, not in Problems.
			clean = clean && len(r.Problems) == 0 && r.Unknown == ""
		}
		for _, r := range w.regionList() {
			clean = clean && r.mode == Answering
		}
		if clean {
			w.ssisFence, w.ssisForced = nil, false
		}
		return strings.TrimSpace(out)
	case SSISAlert:
		if w.ssisRunner == nil {
			return "skipped: no SSIS"
		}
		c := w.newCommand(e.Action, SSISPair, e.Force, false)
		if e.Action == command.AttachIR {
			c.Side = string(e.Side)
		}
		w.enqueue(c)
		return "queued " + c.ID
	case GroupFlip:
		if w.ssisWorld == nil {
			return "skipped: no SSIS"
		}
		self, _, _ := w.ssisWorld.Group(ssis.SidePrimary).Roles(ctx)
		if self == ssis.Primary {
			w.ssisWorld.SetRoles(ssis.Secondary, ssis.Primary)
		} else {
			w.ssisWorld.SetRoles(ssis.Primary, ssis.Secondary)
		}
		return "the failover group changed roles by itself"
	case Crash:
		w.crash = &crashPlan{salt: w.step, odds: e.Variant}
		return "armed for the next attempt"
	case Tick:
		w.advance(e.Dur)
		return ""
	case Interleave:
		w.hook = &hook{countdown: e.At, ev: *e.Nested}
		out := w.apply(*e.Inner)
		if w.hook != nil {
			w.hook = nil
			out += " (nested event not reached)"
		}
		return out
	}
	return "unknown event"
}

func (w *World) newCommand(a command.Action, pair string, force, dry bool) command.Command {
	w.cmdIDs++
	c := command.Command{ID: fmt.Sprintf("c%d", w.cmdIDs), Action: a, Pair: pair, Force: force, DryRun: dry, RequestedBy: "sim"}
	w.commands = append(w.commands, c)
	return c
}

func (w *World) enqueue(c command.Command) string {
	w.msgIDs++
	id := fmt.Sprintf("m%d", w.msgIDs)
	w.queue = append(w.queue, &message{id: id, cmd: c})
	return id
}

// deliver hands a queued message to its runner as the host would: a failure
// abandons it (delivered again later), success completes it, the tenth failure
// dead-letters it.
func (w *World) deliver(ctx context.Context, pick int) string {
	if len(w.queue) == 0 {
		return "skipped: queue empty"
	}
	i := pick % len(w.queue)
	m := w.queue[i]
	w.queue = append(w.queue[:i:i], w.queue[i+1:]...)
	m.deliveries++
	out := w.submit(journal.WithDelivery(ctx, m.id), m.cmd)
	switch {
	case strings.HasPrefix(out, "error"):
		if m.deliveries >= 10 {
			return fmt.Sprintf("%s/%s #%d: %s; dead-lettered", m.id, m.cmd.ID, m.deliveries, out)
		}
		w.queue = append(w.queue, m)
		return fmt.Sprintf("%s/%s #%d: %s; abandoned", m.id, m.cmd.ID, m.deliveries, out)
	}
	w.completed = append(w.completed, m)
	return fmt.Sprintf("%s/%s #%d: %s", m.id, m.cmd.ID, m.deliveries, out)
}

// submit runs a command on the runner that owns its pair.
func (w *World) submit(ctx context.Context, c command.Command) string {
	var op journal.Operation
	var err error
	src := journal.Source{RequestedBy: c.RequestedBy}
	if c.Pair == SSISPair {
		if w.ssisRunner == nil {
			return "skipped"
		}
		op, err = w.ssisRunner.Submit(ctx, c, src, w.Now())
	} else {
		op, err = w.runner.Submit(ctx, c, src, w.Now())
	}
	if err != nil {
		return fmt.Sprintf("error %s (op %s)", drerr.CodeOf(err), op.Status)
	}
	return opLine(op)
}

func opLine(op journal.Operation) string {
	s := fmt.Sprintf("%s %s", op.ID, op.Status)
	for _, st := range op.Steps {
		if st.Status == journal.StepWaiting || st.Status == journal.StepFailed {
			s += fmt.Sprintf(" [%s %s: %.60s]", st.Name, st.Status, st.Outcome)
		}
	}
	if op.Status == journal.Rejected || op.Status == journal.Failed {
		s += fmt.Sprintf(" (%.70s)", op.Error)
	}
	return s
}

func opsLine(ops []journal.Operation) string {
	var s []string
	for _, op := range ops {
		s = append(s, opLine(op))
	}
	if len(s) == 0 {
		return ""
	}
	return ": " + strings.Join(s, "; ")
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " error " + short(err)
}

// short is an error as its code: the text of a joined or first-of-many error may
// depend on which concurrent call failed first.
func short(err error) string {
	var e *drerr.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	if errors.Is(err, journal.ErrBusy) {
		return "busy"
	}
	return "internal"
}

// replicate runs one replication pass. A late claim: the store's answer to the claim
// comes back late (the clock moves while the claim is in flight); a lease overrun: the
// clock jumps past the lease mid-run.
func (w *World) replicate(ctx context.Context, variant int) string {
	ar := w.active()
	before := map[replication.Region]Mode{}
	for _, r := range w.regionList() {
		before[r.name] = r.mode
	}
	if variant > 0 && w.hook == nil {
		d := 100 * time.Second
		at := 1 // the claim
		if variant == 2 {
			d, at = 3*time.Minute, 3
		}
		w.hook = &hook{countdown: at, ev: Event{Kind: Tick, Dur: d}}
		defer func() { w.hook = nil }()
	}
	snap := w.ledger.receivedSnapshot()
	st, err := w.engine.Run(ctx, w.pair.Replication)
	out := fmt.Sprintf("%s scan=%s done=%t writes=%d", st.Direction, st.Scan, st.ScanDone, st.Writes)
	if st.Skipped != "" {
		out += " skipped"
	}
	if err != nil {
		out += " error " + short(err)
	}
	if err == nil && st.Skipped == "" && st.ScanDone && !w.nested {
		whole := st.Scan == replication.ScanFull || st.Scan == replication.ScanMergeBack || st.ReconcileDone
		w.learned(ar, before, snap, whole)
	}
	return out
}

// send: the connector on a side with intake on sends on one session: it reads its own
// number n, writes n+1, and the partner receives n+1.
func (w *World) send(e Event) string {
	r := w.regions[e.Side]
	a := w.agreements[e.Agreement]
	if !w.intake(r, a.Protocol) {
		return "skipped: intake off"
	}
	name := failover.SessionName(a.Name, e.Level)
	if r.limited && (!w.intake(r, failover.X12) && !w.intake(r, failover.EDIFACT) || w.active().Active == r.name && r.mode == Answering && !w.pendingOps()) {
		r.limited = false // fenced, or the active side again with nothing under way
		w.clearUnreachableSends(r)
	}
	if r.limited {
		// A side the app may rightly judge down (unreachable, or slower than the
		// reach budget) may still send, until it is fenced, as much as a bump's
		// minimum margin covers (an outage the policy is sized for): no more.
		if w.unreachableSends[string(r.name)+name] >= int(w.policy.MinBump)/2 {
			return "skipped: a side the app may judge down sends no more than the margin covers"
		}
		w.unreachableSends[string(r.name)+name]++
	}
	b := a.Bounds[e.Level]
	n := b.Lower - 1
	width := len(pad(0, a.Protocol))
	if cur, err := r.acct.Get(context.Background(), name); err == nil {
		c := session.ParseContent(cur.Content)
		v, err := strconv.ParseInt(c.ControlNumber, 10, 64)
		if err != nil {
			return "skipped: unreadable number " + c.ControlNumber
		}
		n, width = v, len(c.ControlNumber)
	}
	next := n + 1
	wrapped := false
	key := string(r.name) + "|" + name
	if next < b.Lower {
		next = b.Lower
	}
	if next > b.Upper {
		if !b.Rollover {
			return fmt.Sprintf("refused by the connector: %d past the upper bound, rollover off", next)
		}
		next, wrapped = b.Lower, true
	}
	text := fmt.Sprintf("%0*d", width, next)
	r.acct.Set(name, content(text, r.acct.Now().Add(time.Millisecond), a.Protocol))
	w.lastSent[key] = next
	if wrapped {
		w.ledger.wrap(a.Name, e.Level)
	}
	if prev, dup := w.ledger.sent(a.Name, e.Level, next, r.name, w.step); dup {
		w.violate(InvNoDuplicateSent, fmt.Sprintf("%s %v number %d sent by %s at step %d and again by %s", a.Name, e.Level, next, prev.side, prev.step, r.name), name)
	}
	return fmt.Sprintf("%s sent %d", name, next)
}

// pendingOps says whether an integration-account operation is running or waiting.
func (w *World) pendingOps() bool {
	ops, _ := w.journal.inner.List(context.Background(), IAPair, 0)
	for _, op := range ops {
		if op.Status.Pending() {
			return true
		}
	}
	return false
}

func (w *World) clearUnreachableSends(r *region) {
	for k := range w.unreachableSends {
		if strings.HasPrefix(k, string(r.name)) {
			delete(w.unreachableSends, k)
		}
	}
}

// receive: a partner sends an interchange with its own number k (or an earlier k
// again) to a side whose intake is on; that side records it or catches it.
func (w *World) receive(e Event) string {
	r := w.regions[e.Side]
	a := w.agreements[e.Agreement]
	if !w.intake(r, a.Protocol) {
		r = w.regions[e.Side.Other()]
		if !w.intake(r, a.Protocol) {
			return "skipped: no side takes this partner's traffic"
		}
	}
	k := a.partnerNext
	if e.Resend && len(a.partnerSent) > 0 {
		k = a.partnerSent[int(hash64(w.seed, "resend", w.step)%uint64(len(a.partnerSent)))]
	} else {
		a.partnerNext++
		a.partnerSent = append(a.partnerSent, k)
	}
	prefix := "X12-ICN-"
	if a.Protocol == failover.EDIFACT {
		prefix = "Edifact-ICN-"
	}
	name := fmt.Sprintf("%s%s-%d", prefix, a.Name, k)
	if _, err := r.acct.Get(context.Background(), name); err == nil {
		return fmt.Sprintf("%s caught %s as a duplicate", r.name, name)
	}
	if why := w.ledger.shouldHold(a.Name, k, r.name); why != "" {
		w.violate(InvNoReceivedLost, fmt.Sprintf("%s accepted %s again: %s", r.name, name, why), fmt.Sprintf("%s-%d", a.Name, k), "replicate")
	}
	r.acct.Set(name, content(strconv.FormatInt(k, 10), r.acct.Now().Add(time.Millisecond), a.Protocol))
	w.ledger.recorded(a.Name, k, r.name, w.step)
	return fmt.Sprintf("%s recorded %s", r.name, name)
}
