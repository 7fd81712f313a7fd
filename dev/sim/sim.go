// Package sim is a deterministic simulation of the whole system, in the spirit of
// FoundationDB's simulator and TigerBeetle's VOPR: one seeded world, a virtual clock,
// and the real failover plans, journal, replication engine and SSIS reconcile and
// runner acting on in-memory sides (the doubles of replicationtest, journaltest and
// ssistest, wrapped here with faults). A seeded scheduler interleaves partner traffic,
// replication runs, commands and their redeliveries, timers, crashes and regions
// that slow down, refuse, throttle, fail, vanish and come back rebuilt; the
// invariants are checked after every event, and a failing seed prints a trace that
// replays exactly.
//
// # Determinism
//
// The product runs some calls concurrently (a plan's bumps, both sides' agreements
// read at once) and sets real-time deadlines (3 s for the old side). So: the clock
// moves only between events or at call sites that run on one goroutine; a call's
// fault is a hash of (seed, region, call, object, per-key count, step), never drawn
// from a shared sequence; a slow call answers at once unless its latency exceeds the
// deadline its caller set, when it is cut short (drerr.Interrupted) at once; a write
// is stamped by the service's clock without moving it, so concurrent writes stamp the
// same in any order; errors are traced by code only.
//
// # What "lost" means for a received number
//
// A number k a partner sent is recorded on the side X that received it. A later
// resend of k accepted (not caught) by side Y is a loss when Y recorded k itself
// (since it was last rebuilt), or when at least two replication runs completed a scan
// after k was recorded, each with both regions answering from start to end and X
// being then the active side or fenced (all its intake off): received numbers must
// merge as a union whichever way the stream runs (the fenced old side's are merged
// back). At the end of the quiet phase every side that should hold k by that rule is
// checked too.
package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// Options steer one run.
type Options struct {
	// Steps is how many events the scheduler draws before the quiet phase (default 120).
	Steps int
	// Script, when set, replaces the scheduler: these events, in order.
	Script []Event
	// NoQuiesce skips the quiet phase (and operations-end).
	NoQuiesce bool
	// NoSSIS leaves the SSIS pair out.
	NoSSIS bool
	// TraceLen is how many trace lines a violation keeps (default 30).
	TraceLen int
	// Verbose, when set, receives every trace line as it happens.
	Verbose io.Writer
	// KeepTrace keeps the whole trace in the result.
	KeepTrace bool
}

func (o Options) traceLen() int {
	if o.TraceLen <= 0 {
		return 30
	}
	return o.TraceLen
}

// Violation is one invariant broken: the first time in a run, with the trace up to it.
type Violation struct {
	Invariant string
	Step      int
	Detail    string
	Trace     []string
	focus     []string
}

// Result is what one seed's run found.
type Result struct {
	Seed       int64
	Events     int
	Violations []Violation
	// Counts is, per invariant, how many times it was found broken.
	Counts map[string]int
	// TraceHash identifies the whole trace: the same seed gives the same hash.
	TraceHash uint64
	Trace     []string
}

// String is the report of a failing seed.
func (v Violation) String() string {
	s := fmt.Sprintf("invariant %s broken at step %d: %s\n", v.Invariant, v.Step, v.Detail)
	for _, line := range v.Trace {
		s += "  " + line + "\n"
	}
	return s
}

// Run simulates one seed.
func Run(seed int64, opts Options) Result {
	w := newWorld(seed, opts)
	if opts.Script != nil {
		for _, ev := range opts.Script {
			w.do(ev, time.Second)
		}
	} else {
		steps := opts.Steps
		if steps <= 0 {
			steps = 120
		}
		for range steps {
			gap := []time.Duration{time.Second, 3 * time.Second, 10 * time.Second, 40 * time.Second}[w.rng.Intn(4)]
			gap += time.Duration(w.rng.Intn(1000)) * time.Millisecond
			w.do(w.pick(), gap)
		}
	}
	if !opts.NoQuiesce {
		w.quiesce()
	}
	h := fnv.New64a()
	for _, line := range w.trace {
		_, _ = io.WriteString(h, line)
		_, _ = h.Write([]byte{'\n'})
	}
	res := Result{Seed: seed, Events: w.events, Violations: w.violations, Counts: w.counts, TraceHash: h.Sum64()}
	if opts.KeepTrace {
		res.Trace = w.trace
	}
	return res
}

// consumesCrash says whether an event runs an attempt an armed crash applies to.
func consumesCrash(k Kind) bool {
	switch k {
	case Deliver, Direct, Timer, Replicate, SSISTimer, SSISRecon, Interleave:
		return true
	}
	return false
}

// do runs one event after gap, logs it and checks the invariants.
func (w *World) do(ev Event, gap time.Duration) {
	w.step++
	w.events++
	w.advance(gap)
	w.killed.Store(false)
	out := w.apply(ev)
	if consumesCrash(ev.Kind) {
		w.crash = nil
	}
	if w.killed.Load() {
		out += " [process died]"
	}
	w.killed.Store(false)
	w.logf("%4d %10s  %-34s %s", w.step, w.Now().Sub(t0).Round(time.Millisecond), ev, out)
	w.check("")
	w.flush()
}

// quiesce lets the world settle: every region answers, no crash is armed, and the
// queue, the timers and replication run until the operations end (or a bound of
// rounds passes). Partners keep sending, so two sides left sending both show.
func (w *World) quiesce() {
	w.crash, w.hook = nil, nil
	for _, r := range w.regionList() {
		if r.mode != Answering {
			w.do(Event{Kind: SetMode, Side: r.name, Mode: Answering}, time.Second)
		}
	}
	for round := 0; round < 110; round++ {
		for len(w.queue) > 0 && round < 30 {
			before := len(w.queue)
			w.do(Event{Kind: Deliver, Msg: 0}, time.Second)
			if len(w.queue) >= before {
				break // abandoned again: next round
			}
		}
		w.do(Event{Kind: Timer}, 90*time.Second)
		if w.ssisRunner != nil {
			w.do(Event{Kind: SSISTimer}, time.Second)
			w.do(Event{Kind: SSISRecon}, time.Second)
		}
		w.do(Event{Kind: Replicate}, time.Second)
		if round == 20 {
			// What an operator does about a fence that can never land: cancel it.
			for _, id := range w.fencesOnRebuiltSides() {
				w.do(Event{Kind: Cancel, Target: id}, time.Second)
			}
		}
		for _, r := range w.regionList() {
			for i := range w.agreements {
				if w.intake(r, w.agreements[i].Protocol) {
					w.do(Event{Kind: Send, Side: r.name, Agreement: i, Level: sendLevels[(round+i)%len(sendLevels)]}, time.Second)
				}
			}
		}
		if round >= 8 && len(w.queue) == 0 && w.allEnded() {
			break
		}
	}
	w.checkEnd()
	w.logf("---- end: %d events", w.events)
	w.flush()
}

// fencesOnRebuiltSides lists the operations waiting on a fence of a region rebuilt
// without its workflows.
func (w *World) fencesOnRebuiltSides() []string {
	var out []string
	ops, _ := w.journal.inner.ListPending(context.Background())
	for _, op := range ops {
		st := op.StepByName(failover.StepFenceOld)
		if op.Pair != IAPair || st == nil || st.Status != journal.StepWaiting {
			continue
		}
		old := replication.Primary
		if op.Action == command.Fallback {
			old = replication.Secondary
		}
		for _, f := range w.regions[old].flows {
			if f.isGone() {
				out = append(out, op.ID)
				break
			}
		}
	}
	return out
}

func (w *World) allEnded() bool {
	for _, pair := range []string{IAPair, SSISPair} {
		ops, _ := w.journal.inner.List(context.Background(), pair, 0)
		for _, op := range ops {
			if !op.Status.Terminal() {
				return false
			}
		}
	}
	return true
}
