package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"integration-dr/drerr"
)

type dlqResubmitOptions struct {
	IO          *IOStreams
	Settings    func() (*Settings, error)
	DeadLetters func(context.Context, *Settings) (deadLetterQueue, func(), error)

	Sequence int64
	JSON     bool
}

func newCmdDLQResubmit(f *Factory, runF func(context.Context, *dlqResubmitOptions) error) *cobra.Command {
	opts := &dlqResubmitOptions{IO: f.IO, Settings: f.Settings, DeadLetters: f.DeadLetters}
	cmd := &cobra.Command{
		Use:   "resubmit SEQUENCE-NUMBER",
		Short: "Put a dead-lettered command back on the queue, same message id",
		Long: `Locks the dead-lettered message with that sequence number (drctl dlq list shows
them), sends its body to the queue under the same message id, and only then removes it
from the dead-letter queue. A crash in between leaves it in both places, never in
neither; the same id makes the duplicate harmless (the journaled plan resumes rather
than runs twice).`,
		Example: `  drctl dlq resubmit 42`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 0 {
				return usagef("%q is not a sequence number (drctl dlq list shows them)", args[0])
			}
			opts.Sequence = seq
			return runE(func(ctx context.Context) error {
				if runF != nil {
					return runF(ctx, opts)
				}
				return runDLQResubmit(ctx, opts)
			})(cmd, args)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runDLQResubmit(ctx context.Context, opts *dlqResubmitOptions) error {
	d, closeFn, err := openDLQ(ctx, opts.Settings, opts.DeadLetters)
	if err != nil {
		return err
	}
	defer closeFn()
	dl, err := d.Resubmit(ctx, opts.Sequence)
	if drerr.Is(err, drerr.NotFound) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	v := toDeadLetter(dl)
	if opts.JSON {
		return writeJSON(opts.IO.Out, v)
	}
	fmt.Fprintf(opts.IO.Out, "resubmitted message %d (%s of %s, command %s) with its message id %s\n", v.SequenceNumber, dash(v.Action), dash(v.Pair), v.ID, v.MessageID)
	if v.Pair != "" {
		fmt.Fprintf(opts.IO.Out, "its plan resumes where it stopped: drctl journal --pair %s --id %s\n", v.Pair, v.ID)
	}
	return nil
}
