package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/view"
)

// submitter is what runs commands in-process: app.App.Operations.
type submitter interface {
	Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error)
	Advance(ctx context.Context) ([]journal.Operation, error)
}

// operationReader reads one operation: the journal (app.App.Journal) is one.
type operationReader interface {
	Get(ctx context.Context, pair, id string) (journal.Operation, error)
}

// timerWork is the function app's timer work a waiting plan needs besides advancing
// it: with --direct --wait, drctl does it itself, because the app is down.
type timerWork interface {
	// Replicate runs one replication pass of pair, as ReplicateSessions does; done is
	// false (and the rest empty) for a pair replication does not run.
	Replicate(ctx context.Context, pair string) (msg string, done bool, err error)
}

// appTimers runs the app's own replication code.
type appTimers struct{ a *app.App }

func (t appTimers) Replicate(ctx context.Context, pair string) (string, bool, error) {
	for _, p := range t.a.Streams.Pairs {
		if p.Name != pair {
			continue
		}
		st, err := t.a.Engine.Run(ctx, p)
		switch {
		case err != nil:
			return "", true, err
		case st.Skipped != "":
			return fmt.Sprintf("replication of %s stood aside: %s", pair, st.Skipped), true, nil
		}
		return fmt.Sprintf("replicated %s %s: %d listed, %d written", pair, st.Direction, st.Listed, st.Writes), true, nil
	}
	return "", false, nil
}

// watch follows one operation in the journal and shows its steps as they change. With
// a submitter it also runs the command and, with --wait, drives the plan on as the
// function app's timers would (unless --no-drive: then it says what would).
type watch struct {
	opts   *operateOptions
	jr     operationReader
	timers timerWork // nil: nothing to drive besides Advance
	cmd    command.Command
	id     string
	shown  map[string]string
	start  time.Time
	// status is the last status shown or read; line is the terminal's live line, if any.
	status journal.Status
	line   bool
	told   bool
	// drove is the last message of each kind of drive action shown, advised the last
	// --no-drive advice: neither is repeated while it stays the same.
	drove   map[string]string
	advised string
}

func newWatch(opts *operateOptions, jr operationReader, c command.Command) *watch {
	return &watch{opts: opts, jr: jr, cmd: c, id: followID(c), shown: map[string]string{}, drove: map[string]string{}, start: opts.Now()}
}

// driven is what the goroutine that runs the command reports.
type driven struct {
	op       journal.Operation
	err      error
	submit   bool   // the outcome of a Submit (else an Advance's error, or a drive action)
	kind     string // a drive action's kind ("replication"), with msg
	msg      string
	attempts int
}

// run follows the operation until it ends (or, without --wait, until the command has
// run as far as it can). ops nil: the command was queued; something else runs it.
func (w *watch) run(ctx context.Context, ops submitter) (journal.Operation, error) {
	if w.opts.Timeout > 0 && w.opts.Wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.opts.Timeout)
		defer cancel()
	}
	var events <-chan driven
	stop := make(chan struct{})
	var stopped <-chan struct{}
	if ops != nil {
		ev := make(chan driven, 8)
		done := make(chan struct{})
		events, stopped = ev, done
		go w.drive(ctx, ops, ev, stop, done)
	}
	defer func() {
		close(stop)
		if stopped != nil {
			<-stopped // an Advance under way finishes: never cut a plan short on the way out
		}
		w.clearLine()
	}()

	tick := time.NewTicker(max(w.opts.PollEvery, 10*time.Millisecond))
	defer tick.Stop()
	var last journal.Operation
	submitted := ops == nil
	for {
		select {
		case ev := <-events:
			switch {
			case ev.kind != "":
				if w.drove[ev.kind] != ev.msg {
					w.drove[ev.kind] = ev.msg
					w.note(ev.msg)
				}
				continue
			case !ev.submit:
				w.note(fmt.Sprintf("advancing waiting operations: %v", oneLine(ev.err)))
				continue
			}
			if ev.err != nil {
				if !w.opts.Wait {
					op, _ := w.poll(ctx)
					return op, exitf(ExitFailed, "operation %s stopped: %v; it resumes where it stopped: run the same command again with --id %s (or let RunCommand's redelivery and AdvanceOperations)", w.cmd.ID, ev.err, w.cmd.ID)
				}
				w.note(fmt.Sprintf("attempt %d stopped: %v; trying again", ev.attempts, oneLine(ev.err)))
				continue
			}
			submitted = true
			last = ev.op
			if ev.op.ID != w.id {
				// A confirm refused before it reached its target: its own rejection.
				return ev.op, nil
			}
			w.show(ev.op)
			if !w.opts.Wait || w.settled(ev.op) {
				return ev.op, nil
			}
		case <-tick.C:
			op, err := w.poll(ctx)
			switch {
			case drerr.Is(err, drerr.NotFound):
				if ops == nil && !w.told {
					w.note("waiting for RunCommand to take the command off the queue…")
					w.told = true
				}
			case err != nil && ctx.Err() == nil:
				w.note(fmt.Sprintf("reading the journal: %v", oneLine(err)))
			case err == nil:
				last = op
				w.show(op)
				if submitted && w.settled(op) {
					return op, nil
				}
				if submitted && ops != nil && w.opts.NoDrive {
					w.advise(op)
				}
			}
			w.live(last)
		case <-ctx.Done():
			why := "interrupted"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = fmt.Sprintf("gave up waiting after %s", w.opts.Timeout)
			}
			status := "not journaled yet"
			if last.ID != "" {
				status = string(last.Status)
			}
			err := exitf(ExitFailed, "%s: operation %s is %s; it goes on where it is journaled (drctl journal --pair %s --id %s)", why, w.id, status, w.cmd.Pair, w.id)
			if w.events() {
				w.emit(last.Status, "", err.Error())
			}
			return last, err
		}
	}
}

// drive runs the command in-process, as RunCommand would; a transient failure is
// tried again with --wait, as the broker would redeliver it. Then, with --wait (and
// without --no-drive), it does what the function app's timers would until stopped:
// it advances waiting plans every poll, as AdvanceOperations does, and, while the
// operation waits, runs its pair's replication pass every DriveEvery, as
// ReplicateSessions does — a fallback's drain and its confirm wait for that pass.
func (w *watch) drive(ctx context.Context, ops submitter, events chan<- driven, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	rtoStart := w.opts.Now()
	src := journal.Source{RequestedBy: w.cmd.RequestedBy}
	pause := func() bool {
		select {
		case <-stop:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(w.opts.PollEvery):
			return true
		}
	}
	send := func(d driven) bool {
		select {
		case events <- d:
			return true
		case <-stop:
			return false
		}
	}
	// ctx is no delivery of the command's message: the runners leave an operation a
	// RunCommand attempt has claimed (see journal.Claim).
	for attempt := 1; ; attempt++ {
		op, err := ops.Submit(ctx, w.cmd, src, rtoStart)
		if !send(driven{op: op, err: err, submit: true, attempts: attempt}) {
			return
		}
		if err == nil {
			break
		}
		if !w.opts.Wait || !pause() {
			return
		}
	}
	if w.opts.NoDrive {
		return
	}
	var nextReplication time.Time // zero: the first wait gets a pass at once
	for w.opts.Wait && pause() {
		if _, err := ops.Advance(ctx); err != nil && ctx.Err() == nil {
			if !send(driven{err: err}) {
				return
			}
		}
		if w.timers == nil || w.opts.Now().Before(nextReplication) {
			continue
		}
		// Only an operation that waits is driven: a running one has an attempt in
		// flight (another process's), and one that ended needs nothing.
		op, err := w.jr.Get(ctx, w.cmd.Pair, w.id)
		if err != nil || op.Status != journal.Waiting {
			continue
		}
		nextReplication = w.opts.Now().Add(w.opts.DriveEvery)
		msg, did, err := w.timers.Replicate(ctx, op.Pair)
		switch {
		case !did:
			w.timers = nil // not a replicated pair: Advance alone moves it
			continue
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			msg = fmt.Sprintf("replication of %s failed: %s; tried again in %s", op.Pair, oneLine(err), w.opts.DriveEvery)
		}
		if !send(driven{kind: "replication", msg: msg}) {
			return
		}
	}
}

func (w *watch) poll(ctx context.Context) (journal.Operation, error) {
	if w.cmd.Action == command.Cancel {
		// The cancel's own operation says whether it was refused (rejected) or done;
		// once done, the outcome is the cancelled operation.
		own, err := w.jr.Get(ctx, w.cmd.Pair, w.cmd.ID)
		switch {
		case err != nil || own.Status == journal.Rejected:
			return own, err
		case own.Status != journal.Succeeded:
			// Under way: nothing to show yet (a poll between its two writes once
			// showed the cancel's own step as the outcome).
			return journal.Operation{}, drerr.Errorf(drerr.NotFound, "cancel", "cancel %s is under way", w.cmd.ID)
		}
		return w.jr.Get(ctx, w.cmd.Pair, w.id)
	}
	op, err := w.jr.Get(ctx, w.cmd.Pair, w.id)
	if w.cmd.Action == command.Confirm && w.id != w.cmd.ID && (drerr.Is(err, drerr.NotFound) || err == nil && op.Status == journal.Proposed) {
		// RunCommand journals a confirm it refuses (no such proposal) under the
		// confirm's own id, not the target's: that is the outcome to report.
		if own, oerr := w.jr.Get(ctx, w.cmd.Pair, w.cmd.ID); oerr == nil && own.Status == journal.Rejected {
			return own, nil
		}
	}
	return op, err
}

// settled says whether --wait has nothing more to wait for: the operation ended, or
// the pair has flipped and only the fence of an old side that does not answer is left
// (the timer applies it when that side answers; in a regional outage that may be
// hours, and the failover has done its work).
//
// A running operation is never settled, whatever its steps say: an attempt is in
// flight, and its last step is journaled before its end (or its wait on the fence). A
// poll between the two once returned "running" as the outcome.
func settled(op journal.Operation) bool {
	if op.Status.Terminal() {
		return true
	}
	if op.Status != journal.Waiting {
		return false
	}
	if st := op.StepByName(failover.StepFlip); st == nil || st.Status != journal.StepDone {
		return false
	}
	for _, st := range op.Steps {
		if !st.Status.Terminal() && st.Name != failover.StepFenceOld {
			return false
		}
	}
	return true
}

// settled is settled(op) for this watch: while drctl drives the plan itself, a fence
// that waits on an old side that answers (a transient error, retried by the next
// advance) is still to be driven, and the plan is not settled until it lands; only a
// side that could not be reached leaves the fence to the timer. Returning earlier
// told the operator "waiting" with the fence about to land.
func (w *watch) settled(op journal.Operation) bool {
	if !settled(op) {
		return false
	}
	if op.Status.Terminal() || !w.driving() {
		return true
	}
	fence := op.StepByName(failover.StepFenceOld)
	return fence == nil || fence.Status.Terminal() || strings.Contains(fence.Outcome, unreachableOutcome)
}

// unreachableOutcome is how the plan journals a side it could not reach at all (the
// failover package's words).
const unreachableOutcome = "could not be reached"

// driving says whether this watch drives the plan (--direct --wait, without --no-drive).
func (w *watch) driving() bool { return w.opts.Direct && w.opts.Wait && !w.opts.NoDrive }

// advise says, once per reason, what a plan left undriven (--no-drive) waits for and
// the commands that move it on.
func (w *watch) advise(op journal.Operation) {
	if op.Status != journal.Waiting {
		return
	}
	on := waitingOn(toOperation(op))
	if on == "" || on == w.advised {
		return
	}
	w.advised = on
	w.note(fmt.Sprintf("waiting for %s; to move it on: %s", on, strings.Join(movesOn(op), ", then ")))
}

// movesOn is what moves a waiting operation on when no timer runs: what it waits for
// (a replication pass, the settle time, a side that answers) and then the command that
// resumes the plan (the same command and id, run here).
func movesOn(op journal.Operation) []string {
	resume := fmt.Sprintf("drctl %s --pair %s --id %s --direct", op.Action, op.Pair, op.ID)
	var first []string
	for _, st := range op.Steps {
		if st.Status != journal.StepWaiting {
			continue
		}
		switch st.Name {
		case failover.StepDrain, failover.StepConfirm, failover.StepCatchUp:
			first = appendOnce(first, "drctl replicate --once --pair "+op.Pair)
		case failover.StepSettle:
			first = appendOnce(first, "the settle time to pass")
		case failover.StepFenceOld:
			first = appendOnce(first, "the old side to answer")
		}
	}
	return append(first, resume)
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// events says whether progress is JSON lines on stdout (--wait --json).
func (w *watch) events() bool { return w.opts.JSON && w.opts.Wait }

// emit writes one wait event as a line of JSON on stdout.
func (w *watch) emit(state journal.Status, step, msg string) {
	writeEvent(w.opts.IO.Out, view.NewWaitEvent(w.opts.Now(), w.id, w.cmd.Pair, string(state), step, oneLineText(msg)))
}

// writeEvent writes ev as one line of `--wait --json`: a step or the operation
// changed, drctl drove the plan on (--direct), or the wait ended (the last line).
func writeEvent(out io.Writer, ev view.WaitEvent) {
	if line, err := view.Marshal(ev); err == nil {
		_, _ = fmt.Fprintf(out, "%s\n", line)
	}
}

// progress is where progress lines go: stdout for a human; beside --json, stderr if
// a human watches it, else nowhere.
func (w *watch) progress() (out io.Writer, tty bool) {
	switch {
	case !w.opts.JSON:
		return w.opts.IO.Out, w.opts.IO.OutTTY
	case w.opts.IO.ErrTTY && !w.events():
		return w.opts.IO.Err, true
	}
	// A script reading --json: stdout holds the document (or the events), stderr only
	// the error line.
	return io.Discard, false
}

func (w *watch) elapsed() string {
	return fmt.Sprintf("[%5s]", w.opts.Now().Sub(w.start).Round(time.Second))
}

// show prints a line for each step whose status or outcome changed since last shown,
// and one when the operation's status changes.
func (w *watch) show(op journal.Operation) {
	out, _ := w.progress()
	for _, s := range op.Steps {
		key := string(s.Status) + "\x00" + s.Outcome
		if w.shown[s.Name] == key || (s.Status == journal.StepPending && w.shown[s.Name] == "") {
			continue
		}
		w.shown[s.Name] = key
		if w.events() {
			msg := string(s.Status)
			if s.Outcome != "" {
				msg += ": " + s.Outcome
			}
			w.emit(op.Status, s.Name, msg)
			continue
		}
		w.clearLine()
		fmt.Fprintf(out, "%s %-20s %-8s %s\n", w.elapsed(), s.Name, s.Status, oneLineText(s.Outcome))
		for _, c := range s.Changes {
			fmt.Fprintf(out, "%s %-20s %-8s   %s\n", strings.Repeat(" ", len(w.elapsed())), "", "", c)
		}
	}
	// Only the end is worth a line of its own: a plan driven by Advance flips between
	// running and waiting every tick, and its steps say what it waits on. (As events,
	// the end is the final line report writes.)
	if op.Status != w.status && op.Status.Terminal() && !w.events() {
		w.clearLine()
		line := fmt.Sprintf("%s operation %s", w.elapsed(), op.Status)
		if op.Error != "" {
			line += ": " + oneLineText(op.Error)
		}
		fmt.Fprintln(out, line)
	}
	w.status = op.Status
}

// note prints a line about the watch itself (not a step): a drive action, advice.
func (w *watch) note(msg string) {
	if w.events() {
		w.emit(w.status, "", msg)
		return
	}
	out, _ := w.progress()
	w.clearLine()
	fmt.Fprintf(out, "%s %s\n", w.elapsed(), msg)
}

// live rewrites the terminal's last line with how long the wait has lasted and what
// it waits on; off a terminal it writes nothing, so logs stay one line per change.
func (w *watch) live(op journal.Operation) {
	out, tty := w.progress()
	if !tty {
		return
	}
	what := "waiting for the operation to start"
	if op.ID != "" {
		what = string(op.Status)
		if on := waitingOn(toOperation(op)); on != "" {
			what += ": " + on
		}
	}
	fmt.Fprintf(out, "\r\033[K%s %s", w.elapsed(), truncateText(what, 100))
	w.line = true
}

func (w *watch) clearLine() {
	if !w.line {
		return
	}
	out, _ := w.progress()
	fmt.Fprint(out, "\r\033[K")
	w.line = false
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncateText(s string, n int) string {
	r := []rune(oneLineText(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
