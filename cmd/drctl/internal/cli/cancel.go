package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/command"
	"integration-dr/journal"
)

func newCmdCancel(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	opts := newOperateOptions(f, command.Cancel)
	cmd := &cobra.Command{
		Use:   "cancel --pair PAIR --operation ID --reason TEXT",
		Short: "End an operation that can never end by itself",
		Long: `Ends an operation that has not ended as cancelled: the way out of one that never
can, such as a failover whose fence waits on an old side that was rebuilt (it answers
404 for good) and holds the pair, so that every later command is refused. The
cancel is journaled as an operation of its own; the cancelled operation keeps its
record, its unfinished steps marked (pending: skipped, running or waiting: failed),
its error "cancelled by WHO: REASON", and the pair's lock is released. A cancel
changes nothing in Azure: undo what the operation did, if anything, by hand or with
the next command.

It is refused (exit 4, journaled as rejected) when the operation does not exist or
has already ended, and, without --force, while an attempt is running it (its claim is
alive): --force is for an attempt known to be gone. --reason is required.

By default the cancel is posted to the command queue and RunCommand runs it; --wait
follows it. With --direct it runs here, against the journal, at once. Exit codes:
0 cancelled (or, without --wait, queued), 4 refused, 2 bad usage, 1 failed.`,
		Example: `  drctl cancel --pair contoso-b2b --operation fo-2026-11-23-1 --reason "West Europe was rebuilt; the fence cannot land"
  drctl cancel --pair contoso-b2b --operation fo-2026-11-23-1 --reason "the attempt's worker is gone" --force --direct`,
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Pair, "pair", "", "the pair (required)")
	fl.StringVar(&opts.Target, "operation", "", "the id of the operation to cancel (required)")
	fl.StringVar(&opts.Reason, "reason", "", "why, for the journal (required)")
	fl.BoolVar(&opts.Force, "force", false, "cancel even while an attempt's claim on the operation is alive (journaled)")
	fl.StringVar(&opts.ID, "id", "", "command id of the cancel itself, the idempotency key (default: a fresh one)")
	fl.StringVar(&opts.RequestedBy, "requested-by", "", "who asks, for the journal (default: your user and host)")
	fl.BoolVar(&opts.Wait, "wait", false, "follow the cancel until it is done; exit with its outcome")
	fl.BoolVar(&opts.Direct, "direct", false, "run it here, against the journal, not through the queue")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "with --wait, stop following after this long (default: no limit)")
	addJSONFlag(cmd, &opts.JSON)
	_ = cmd.MarkFlagRequired("pair")
	_ = cmd.MarkFlagRequired("operation")
	_ = cmd.MarkFlagRequired("reason")
	cmd.RunE = runE(func(ctx context.Context) error {
		if err := opts.checkWaitFlags(cmd.Flags().Changed("timeout")); err != nil {
			return err
		}
		if runF != nil {
			return runF(ctx, opts)
		}
		return runOperate(ctx, opts)
	})
	return cmd
}

// canceller runs a cancel command as drctl cancel --direct does: through the runner
// that owns the pair (which also gives back what the cancelled plan held: the
// replication stream, a pending fence, a group failover), with nothing to advance
// afterwards — the point of a cancel is that nothing runs on.
type canceller struct{ ops submitter }

func (c canceller) Submit(ctx context.Context, cmd command.Command, src journal.Source, at time.Time) (journal.Operation, error) {
	return c.ops.Submit(ctx, cmd, src, at)
}

func (canceller) Advance(context.Context) ([]journal.Operation, error) { return nil, nil }
