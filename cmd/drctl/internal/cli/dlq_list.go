package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"integration-dr/azure/servicebus"
	"integration-dr/redact"
)

type dlqListOptions struct {
	IO          *IOStreams
	Settings    func() (*Settings, error)
	DeadLetters func(context.Context, *Settings) (deadLetterQueue, func(), error)

	Limit int
	JSON  bool
}

func newCmdDLQList(f *Factory, runF func(context.Context, *dlqListOptions) error) *cobra.Command {
	opts := &dlqListOptions{IO: f.IO, Settings: f.Settings, DeadLetters: f.DeadLetters}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Peek at the dead-lettered commands (nothing is locked or removed)",
		Example: `  drctl dlq list
  drctl dlq list --json | jq '.[] | {sequenceNumber, id, reason}'`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runDLQList(ctx, opts)
		}),
	}
	cmd.Flags().IntVar(&opts.Limit, "limit", 50, "messages to show")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func toDeadLetter(d servicebus.DeadLetter) deadLetterView {
	return deadLetterView{
		SequenceNumber: d.SequenceNumber, MessageID: d.MessageID, ID: d.ID, Action: d.Action, Pair: d.Pair,
		Reason: redact.String(d.Reason), Description: redact.String(d.Description), EnqueuedTime: timePtr(d.EnqueuedTime), DeliveryCount: d.DeliveryCount,
	}
}

// openDLQ opens the dead-letter queue, or says why it cannot.
func openDLQ(ctx context.Context, settings func() (*Settings, error), open func(context.Context, *Settings) (deadLetterQueue, func(), error)) (deadLetterQueue, func(), error) {
	s, err := settings()
	if err != nil {
		return nil, nil, err
	}
	d, closeFn, err := open(ctx, s)
	if err != nil {
		return nil, nil, exitf(ExitFailed, "cannot reach the dead-letter queue: %v", err)
	}
	return d, closeFn, nil
}

func runDLQList(ctx context.Context, opts *dlqListOptions) error {
	if opts.Limit < 1 || opts.Limit > 5000 {
		return usagef("--limit %d is not from 1 to 5000", opts.Limit)
	}
	d, closeFn, err := openDLQ(ctx, opts.Settings, opts.DeadLetters)
	if err != nil {
		return err
	}
	defer closeFn()
	list, err := d.List(ctx, opts.Limit)
	if err != nil {
		return err
	}
	views := []deadLetterView{}
	for _, dl := range list {
		views = append(views, toDeadLetter(dl))
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(opts.IO.Out, "the dead-letter queue is empty")
		return nil
	}
	tw := newTable(opts.IO.Out)
	row(tw, "SEQ", "MESSAGE ID", "ACTION", "PAIR", "REASON", "DESCRIPTION", "ENQUEUED", "DELIVERIES")
	for _, v := range views {
		row(tw, fmt.Sprint(v.SequenceNumber), v.MessageID, dash(v.Action), dash(v.Pair), dash(v.Reason), dash(truncateText(v.Description, 80)), fmtTime(v.EnqueuedTime), fmt.Sprint(v.DeliveryCount))
	}
	tw.Flush()
	fmt.Fprintln(opts.IO.Out, "why each failed: drctl journal --pair PAIR --id ID; put one back: drctl dlq resubmit SEQ")
	return nil
}
