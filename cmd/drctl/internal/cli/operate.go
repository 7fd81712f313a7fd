package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
)

// operateOptions are the options of every command that sends a command: failover,
// fallback, drill, ssis-failover, attach-ir, confirm and cancel.
type operateOptions struct {
	IO        *IOStreams
	Settings  func() (*Settings, error)
	App       func(context.Context) (*app.App, error)
	Sender    func(context.Context, *Settings) (commandSender, func(), error)
	Now       func() time.Time
	NewID     func(what string) string
	User      func() string
	PollEvery time.Duration

	Action        command.Action
	Pair          string
	Target        string // confirm: the proposed operation's id; cancel: the operation to cancel
	ID            string
	Reason        string
	RequestedBy   string
	Side          string
	Force         bool
	DryRun        bool
	ExpectedEpoch *int64
	Wait          bool
	Direct        bool
	Timeout       time.Duration
	JSON          bool
}

func newOperateOptions(f *Factory, action command.Action) *operateOptions {
	return &operateOptions{
		IO: f.IO, Settings: f.Settings, App: f.App, Sender: f.Sender, Now: f.Now, NewID: f.newID, User: f.User,
		PollEvery: f.PollEvery, Action: action,
	}
}

// operateHelp is what every sending command's help says about how it is sent.
const operateHelp = `
By default the command is posted to the command queue (DR_COMMAND_QUEUE) and
RunCommand runs it; drctl prints its id. With --direct it runs here, in-process, with
the same journal and per-pair lock as RunCommand: for when Service Bus or the function
app is what failed. The id (--id, default a fresh one) is the idempotency key: sending
the same id again resumes the journaled plan and never acts twice.

--wait follows the journal until the operation ends, one line per step as it changes;
with --direct it also advances waiting plans as the AdvanceOperations timer would
(every pending operation, of any pair): use it when the function app is down, not
beside a running one. The exit code is then the operation's: 0 succeeded, 4 rejected
(a safety rule refused it), 1 failed or cancelled (drctl cancel). Without --wait, 0
means queued, or run as far as it could (a plan waiting on a settle or a fence goes on
when AdvanceOperations runs).`

// addOperateFlags adds the flags every sending command has.
func addOperateFlags(cmd *cobra.Command, opts *operateOptions) {
	fl := cmd.Flags()
	fl.StringVar(&opts.Pair, "pair", "", "the pair (required)")
	fl.StringVar(&opts.ID, "id", "", "command id, the idempotency key (default: a fresh one)")
	fl.StringVar(&opts.Reason, "reason", "", "why, for the journal")
	fl.StringVar(&opts.RequestedBy, "requested-by", "", "who asks, for the journal (default: your user and host)")
	fl.BoolVar(&opts.Wait, "wait", false, "follow the operation until it ends; exit with its outcome")
	fl.BoolVar(&opts.Direct, "direct", false, "run it here, not through the queue (same journal and lock)")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "with --wait, stop following (and with --direct, driving: the plan resumes where it stopped) after this long (0: never)")
	addJSONFlag(cmd, &opts.JSON)
	_ = cmd.MarkFlagRequired("pair")
}

// addPlanFlags adds --dry-run, --force where it means something, and --expected-epoch
// where the pair has an epoch (integration-account pairs; an SSIS pair's roles are the failover group's).
func addPlanFlags(cmd *cobra.Command, opts *operateOptions, action command.Action) {
	force := "override the cooldown, readiness refusals and a bound with no room (each journaled)"
	if pairKindOf(action) == SSISPair {
		force = "forced failover of the group, with possible data loss (journaled as forced)"
	}
	if action != command.AttachIR { // attach-ir has nothing to force
		cmd.Flags().BoolVar(&opts.Force, "force", false, force)
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "run every check and compute every change, changing nothing")
	if pairKindOf(action) == IntegrationPair {
		cmd.Flags().Int64("expected-epoch", 0, "refuse the command unless the pair is still at this epoch (drctl status shows it; unset: any epoch)")
	}
}

// newOperateCmd completes the cobra command of one action (its constructor gives the
// text): flags, and a RunE that runs runOperate (or runF, in tests).
func newOperateCmd(f *Factory, action command.Action, cmd *cobra.Command, runF func(context.Context, *operateOptions) error) *cobra.Command {
	opts := newOperateOptions(f, action)
	cmd.Args = cobra.NoArgs
	cmd.Long += "\n" + operateHelp
	addOperateFlags(cmd, opts)
	addPlanFlags(cmd, opts, action)
	var side string
	if action == command.AttachIR {
		cmd.Flags().StringVar(&side, "side", "", "primary or secondary: the side whose runtime takes SSISDB over (default: the one that does not serve it now)")
	}
	cmd.RunE = runE(func(ctx context.Context) error {
		if fl := cmd.Flags().Lookup("expected-epoch"); fl != nil && fl.Changed {
			e, _ := cmd.Flags().GetInt64("expected-epoch")
			opts.ExpectedEpoch = &e
		}
		opts.Side = side
		if runF != nil {
			return runF(ctx, opts)
		}
		return runOperate(ctx, opts)
	})
	return cmd
}

// pairKindOf is the kind of pair an action acts on; NoPair: any kind (cancel).
func pairKindOf(a command.Action) PairKind {
	switch a {
	case command.SSISFailover, command.AttachIR:
		return SSISPair
	case command.Cancel:
		return NoPair
	}
	return IntegrationPair
}

// build makes and checks the command, as RunCommand would check it.
func (opts *operateOptions) build(s *Settings) (command.Command, error) {
	var kinds []PairKind
	if k := pairKindOf(opts.Action); k != NoPair {
		kinds = append(kinds, k)
	}
	if err := s.CheckPair(opts.Pair, kinds...); err != nil {
		return command.Command{}, err
	}
	c := command.Command{
		ID: opts.ID, Action: opts.Action, Pair: opts.Pair, Target: opts.Target, Reason: opts.Reason,
		RequestedBy: opts.RequestedBy, Side: opts.Side, Force: opts.Force, DryRun: opts.DryRun, ExpectedEpoch: opts.ExpectedEpoch,
	}
	if c.ID == "" {
		c.ID = opts.NewID(string(opts.Action))
	}
	if c.RequestedBy == "" {
		c.RequestedBy = opts.User()
	}
	if err := c.Validate(func(p string) bool { return s.Kind(p) != NoPair }); err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

func runOperate(ctx context.Context, opts *operateOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	c, err := opts.build(s)
	if err != nil {
		return err
	}
	if opts.Direct {
		op, err := runDirect(ctx, opts, c)
		if err != nil {
			return err
		}
		return opts.report(op)
	}
	if err := sendQueued(ctx, opts, s, c); err != nil {
		return err
	}
	if !opts.Wait {
		return nil
	}
	a, err := opts.App(ctx)
	if err != nil {
		return fmt.Errorf("queued %s, but cannot follow it: %w", c.ID, err)
	}
	op, err := newWatch(opts, a.Journal, c).run(ctx, nil)
	if err != nil {
		return err
	}
	return opts.report(op)
}

// sendQueued posts c to the command queue and says so.
func sendQueued(ctx context.Context, opts *operateOptions, s *Settings, c command.Command) error {
	snd, closeQueue, err := opts.Sender(ctx, s)
	if err != nil {
		return exitf(ExitFailed, "cannot post to the command queue: %v; to run the command here instead, add --direct", err)
	}
	defer closeQueue()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := snd.Send(sctx, c); err != nil {
		return exitf(ExitFailed, "command %s was not queued: %v; send it again with --id %s (harmless), or run it here with --direct --id %s", c.ID, err, c.ID, c.ID)
	}
	queue := s.Getenv(config.EnvCommandQueue)
	if opts.JSON && !opts.Wait {
		return writeJSON(opts.IO.Out, queuedView{ID: c.ID, Action: string(c.Action), Pair: c.Pair, Queue: queue, Queued: true})
	}
	w := opts.IO.Out
	if opts.JSON {
		w = io.Discard // stdout is for the document; --wait prints it at the end
		if opts.IO.ErrTTY {
			w = opts.IO.Err
		}
	}
	fmt.Fprintf(w, "queued %s of %s as command %s on %s\n", c.Action, c.Pair, c.ID, queue)
	if !opts.Wait {
		fmt.Fprintf(w, "follow it: drctl journal --pair %s --id %s\n", c.Pair, followID(c))
	}
	return nil
}

// queuedView is the --json document of a command posted without --wait.
type queuedView struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Pair   string `json:"pair"`
	Queue  string `json:"queue"`
	Queued bool   `json:"queued"`
}

// followID is the operation a command's outcome is journaled under: a confirm's is
// the proposed operation's, a cancel's the cancelled one's.
func followID(c command.Command) string {
	if c.Action == command.Confirm || c.Action == command.Cancel {
		return c.Target
	}
	return c.ID
}

// runDirect runs c in-process, as RunCommand would, showing each step as it changes;
// with --wait it goes on until the operation ends.
func runDirect(ctx context.Context, opts *operateOptions, c command.Command) (journal.Operation, error) {
	a, err := opts.App(ctx)
	if err != nil {
		return journal.Operation{}, err
	}
	if c.Action == command.Cancel {
		return newWatch(opts, a.Journal, c).run(ctx, canceller{ops: a.Operations})
	}
	return newWatch(opts, a.Journal, c).run(ctx, a.Operations)
}

// report prints the final word on an operation and turns its status into the exit code.
func (opts *operateOptions) report(op journal.Operation) error {
	v := toOperation(op)
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, v); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(opts.IO.Out, summaryLine(v))
		if opts.Action == command.Cancel && op.Status == journal.Cancelled {
			fmt.Fprintf(opts.IO.Out, "the pair is free for the next command; what the operation changed stays as its steps say (drctl journal --pair %s --id %s)\n", op.Pair, op.ID)
		}
		if op.Status.Pending() {
			fmt.Fprintf(opts.IO.Out, "it goes on when AdvanceOperations runs; to drive it from here: drctl %s --pair %s --id %s --direct --wait\n", op.Action, op.Pair, op.ID)
		}
	}
	if opts.Action == command.Cancel && op.Status == journal.Cancelled && op.ID == opts.Target {
		return nil // what was asked
	}
	return exitFor(op)
}

func summaryLine(v operationView) string {
	s := fmt.Sprintf("operation %s (%s of %s): %s, %s", v.ID, v.Action, v.Pair, v.Status, stepsDone(v))
	if v.RTOSeconds != nil {
		s += ", RTO " + fmtRTO(v.RTOSeconds)
	}
	if v.Error != "" {
		s += ": " + v.Error
	}
	return s
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

// exitFor is an operation's outcome as an exit code: rejected is a safety rule's
// refusal (4), failed and cancelled are 1 (it did not do its work); anything else,
// done or still going, is 0. (drctl cancel exits 0 for the operation it cancelled.)
func exitFor(op journal.Operation) error {
	switch op.Status {
	case journal.Rejected:
		return exitf(ExitRefused, "operation %s was rejected: %s", op.ID, op.Error)
	case journal.Failed:
		return exitf(ExitFailed, "operation %s failed: %s", op.ID, op.Error)
	case journal.Cancelled:
		return exitf(ExitFailed, "operation %s was cancelled: %s", op.ID, op.Error)
	}
	return nil
}

// submitter is what runs commands in-process: app.App.Operations.
type submitter interface {
	Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error)
	Advance(ctx context.Context) ([]journal.Operation, error)
}

// operationReader reads one operation: the journal (app.App.Journal) is one.
type operationReader interface {
	Get(ctx context.Context, pair, id string) (journal.Operation, error)
}

// watch follows one operation in the journal and shows its steps as they change. With
// a submitter it also runs the command (and, with --wait, advances waiting plans).
type watch struct {
	opts  *operateOptions
	jr    operationReader
	cmd   command.Command
	id    string
	shown map[string]string
	start time.Time
	// status is the last status shown; line is the terminal's live line, if any.
	status journal.Status
	line   bool
	told   bool
}

func newWatch(opts *operateOptions, jr operationReader, c command.Command) *watch {
	return &watch{opts: opts, jr: jr, cmd: c, id: followID(c), shown: map[string]string{}, start: opts.Now()}
}

// driven is what the goroutine that runs the command reports.
type driven struct {
	op       journal.Operation
	err      error
	submit   bool // the outcome of a Submit (else an Advance's error)
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
			if !ev.submit {
				w.note(fmt.Sprintf("advancing waiting operations: %v", ev.err))
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
			if !w.opts.Wait || settled(ev.op) {
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
				if submitted && settled(op) {
					return op, nil
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
			return last, exitf(ExitFailed, "%s: operation %s is %s; it goes on where it is journaled (drctl journal --pair %s --id %s)", why, w.id, status, w.cmd.Pair, w.id)
		}
	}
}

// drive runs the command in-process, as RunCommand would; a transient failure is
// tried again with --wait, as the broker would redeliver it. Then, with --wait, it
// advances waiting plans as the AdvanceOperations timer would, until stopped.
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
	// ctx is no delivery of the command's message: the runners leave an operation a
	// RunCommand attempt has claimed (see journal.Claim).
	for attempt := 1; ; attempt++ {
		op, err := ops.Submit(ctx, w.cmd, src, rtoStart)
		select {
		case events <- driven{op: op, err: err, submit: true, attempts: attempt}:
		case <-stop:
			return
		}
		if err == nil {
			break
		}
		if !w.opts.Wait || !pause() {
			return
		}
	}
	for w.opts.Wait && pause() {
		if _, err := ops.Advance(ctx); err != nil && ctx.Err() == nil {
			select {
			case events <- driven{err: err}:
			case <-stop:
				return
			}
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

// progress is where progress lines go: stdout for a human; beside --json, stderr if
// a human watches it, else nowhere.
func (w *watch) progress() (out io.Writer, tty bool) {
	switch {
	case !w.opts.JSON:
		return w.opts.IO.Out, w.opts.IO.OutTTY
	case w.opts.IO.ErrTTY:
		return w.opts.IO.Err, true
	}
	// A script reading --json: stdout holds the document, stderr only the error line.
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
		w.clearLine()
		fmt.Fprintf(out, "%s %-20s %-8s %s\n", w.elapsed(), s.Name, s.Status, oneLineText(s.Outcome))
		for _, c := range s.Changes {
			fmt.Fprintf(out, "%s %-20s %-8s   %s\n", strings.Repeat(" ", len(w.elapsed())), "", "", c)
		}
	}
	// Only the end is worth a line of its own: a plan driven by Advance flips between
	// running and waiting every tick, and its steps say what it waits on.
	if op.Status != w.status && op.Status.Terminal() {
		w.status = op.Status
		w.clearLine()
		line := fmt.Sprintf("%s operation %s", w.elapsed(), op.Status)
		if op.Error != "" {
			line += ": " + oneLineText(op.Error)
		}
		fmt.Fprintln(out, line)
	}
}

// note prints a line about the watch itself (not a step).
func (w *watch) note(msg string) {
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
