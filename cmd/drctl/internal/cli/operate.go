package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/journal"
	"integration-dr/view"
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
	// DriveEvery is how often --direct --wait runs a waiting operation's replication
	// pass.
	DriveEvery time.Duration

	Action        command.Action
	Pair          string
	Target        string // confirm: the proposed operation's id; cancel: the operation to cancel
	ID            string
	Reason        string
	RequestedBy   string
	Side          string
	Force         bool
	DryRun        bool
	Prune         bool // mirror only
	ExpectedEpoch *int64
	Wait          bool
	Direct        bool
	NoDrive       bool
	Timeout       time.Duration
	JSON          bool
}

func newOperateOptions(f *Factory, action command.Action) *operateOptions {
	return &operateOptions{
		IO: f.IO, Settings: f.Settings, App: f.App, Sender: f.Sender, Now: f.Now, NewID: f.newID, User: f.User,
		PollEvery: f.PollEvery, DriveEvery: f.DriveEvery, Action: action,
	}
}

// operateHelp is what every sending command's help says about how it is sent.
const operateHelp = `
By default the command is posted to the command queue (DR_COMMAND_QUEUE) and
RunCommand runs it; drctl prints its id. With --direct it runs here, in-process, with
the same journal and per-pair lock as RunCommand: for when Service Bus or the function
app is what failed. The id (--id, default a fresh one) is the idempotency key: sending
the same id again resumes the journaled plan and never acts twice.

--wait follows the journal until the operation ends, one line per step as it changes
(with --json, one JSON object per line: each change, each drive action, and the end
last). With --direct it also does what the function app's timers would, so that the
plan finishes alone: it advances waiting plans as AdvanceOperations does (every
pending operation, of any pair) and, while the operation waits, runs its pair's
replication pass as ReplicateSessions does (a fallback's drain and confirm wait for
it). Use it when the function app is down, not beside a running one. --no-drive
leaves that to others and says what the plan waits for and which command moves it on.
The exit code is then the operation's: 0 succeeded, 4 rejected (a safety rule refused
it), 1 failed or cancelled (drctl cancel). Without --wait, 0 means queued, or run as
far as it could (a plan waiting on a settle or a fence goes on when AdvanceOperations
runs).`

// addOperateFlags adds the flags every sending command has.
func addOperateFlags(cmd *cobra.Command, opts *operateOptions) {
	fl := cmd.Flags()
	fl.StringVar(&opts.Pair, "pair", "", "the pair (required)")
	fl.StringVar(&opts.ID, "id", "", "command id, the idempotency key (default: a fresh one)")
	fl.StringVar(&opts.Reason, "reason", "", "why, for the journal")
	fl.StringVar(&opts.RequestedBy, "requested-by", "", "who asks, for the journal (default: your user and host)")
	fl.BoolVar(&opts.Wait, "wait", false, "follow the operation until it ends; exit with its outcome")
	fl.BoolVar(&opts.Direct, "direct", false, "run it here, not through the queue (same journal and lock)")
	fl.BoolVar(&opts.NoDrive, "no-drive", false, "with --direct --wait, do not run the timers' work (replication, advancing the plan): say what it waits for and the command that moves it on")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "with --wait, stop following (and with --direct, driving: the plan resumes where it stopped) after this long (default: no limit)")
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
		if err := opts.checkWaitFlags(cmd.Flags().Changed("timeout")); err != nil {
			return err
		}
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

// checkWaitFlags refuses --timeout and --no-drive where they mean nothing, and a
// timeout that is not positive, before anything runs.
func (opts *operateOptions) checkWaitFlags(timeoutGiven bool) error {
	switch {
	case timeoutGiven && opts.Timeout <= 0:
		return usagef("--timeout %s: give a positive duration such as 10m (leave --timeout out to wait without limit)", opts.Timeout)
	case timeoutGiven && !opts.Wait:
		return usagef("--timeout limits --wait: add --wait, or leave --timeout out")
	case opts.NoDrive && !(opts.Direct && opts.Wait):
		return usagef("--no-drive goes with --direct --wait (through the queue, the function app's timers drive the plan)")
	}
	return nil
}

// pairKindOf is the kind of pair an action acts on; NoPair: any kind (cancel).
func pairKindOf(a command.Action) PairKind {
	switch a {
	case command.SSISFailover, command.AttachIR:
		return SSISPair
	case command.Cancel, command.Mirror, command.Drift:
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
		RequestedBy: opts.RequestedBy, Side: opts.Side, Force: opts.Force, DryRun: opts.DryRun, Prune: opts.Prune, ExpectedEpoch: opts.ExpectedEpoch,
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
	op, err := newWatch(opts, journalOf(a, c.Action), c).run(ctx, nil)
	if err != nil {
		return err
	}
	return opts.report(op)
}

// journalOf is the journal an action's operations are kept in: drift and mirror
// operations have their own, apart from the plans'.
func journalOf(a *app.App, act command.Action) journal.Store {
	if act == command.Mirror || act == command.Drift {
		return a.Mirrors
	}
	return a.Journal
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
	line := fmt.Sprintf("queued %s of %s as command %s on %s", c.Action, c.Pair, c.ID, queue)
	if opts.JSON {
		// --wait --json: the first of the wait's events.
		writeEvent(opts.IO.Out, view.NewWaitEvent(opts.Now(), followID(c), c.Pair, "", "", line))
		return nil
	}
	w := opts.IO.Out
	fmt.Fprintln(w, line)
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
	w := newWatch(opts, journalOf(a, c.Action), c)
	w.timers = appTimers{a: a}
	return w.run(ctx, a.Operations)
}

// report prints the final word on an operation and turns its status into the exit code.
func (opts *operateOptions) report(op journal.Operation) error {
	v := toOperation(op)
	if opts.JSON && opts.Wait {
		// The events' last line: the outcome.
		msg := summaryLine(v)
		if op.Status.Pending() {
			msg += "; " + pendingHint(op)
		}
		writeEvent(opts.IO.Out, view.NewWaitEvent(opts.Now(), op.ID, op.Pair, string(op.Status), "", oneLineText(msg)))
	} else if opts.JSON {
		if err := writeJSON(opts.IO.Out, v); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(opts.IO.Out, summaryLine(v))
		if opts.Action == command.Cancel && op.Status == journal.Cancelled {
			fmt.Fprintf(opts.IO.Out, "the pair is free for the next command; what the operation changed stays as its steps say (drctl journal --pair %s --id %s)\n", op.Pair, op.ID)
		}
		if op.Status.Pending() {
			fmt.Fprintln(opts.IO.Out, pendingHint(op))
		}
	}
	if opts.Action == command.Cancel && op.Status == journal.Cancelled && op.ID == opts.Target {
		return nil // what was asked
	}
	return exitFor(op)
}

// pendingHint says how an operation that has not ended goes on.
func pendingHint(op journal.Operation) string {
	return fmt.Sprintf("it goes on when AdvanceOperations runs; to drive it from here: drctl %s --pair %s --id %s --direct --wait", op.Action, op.Pair, op.ID)
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
