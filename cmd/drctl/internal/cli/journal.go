package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/drerr"
	"integration-dr/journal"
)

type journalOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)

	Pair  string
	ID    string
	Limit int
	JSON  bool
}

func newCmdJournal(f *Factory, runF func(context.Context, *journalOptions) error) *cobra.Command {
	opts := &journalOptions{IO: f.IO, Settings: f.Settings, App: f.App}
	cmd := &cobra.Command{
		Use:   "journal [--pair PAIR] [--id ID] [--limit N]",
		Short: "List journaled operations, or show one with all its steps and changes",
		Long: `Lists the operations of every pair (or one), newest first: commands, dry runs,
proposals, rejections, cancellations, SSIS reconcile passes that changed something.
With --id, shows that operation in full: who asked and why, its times, RTO, epochs,
error, and every step with its outcome and changes. A dead-lettered command's
operation says why it failed and how far it got; a cancelled one, who cancelled it,
why, and which of its steps ran. Alerts and commands refused before a configured
pair could be read from them (a forged alert, a command naming no pair) are listed
under the pair "unknown" (--pair unknown for those alone).`,
		Example: `  drctl journal --limit 10
  drctl journal --pair contoso-b2b --id fo-2026-11-23-1
  drctl journal --pair unknown
  drctl journal --pair contoso-b2b --json | jq '.[] | select(.status=="failed")'`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runJournal(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "only this pair")
	cmd.Flags().StringVar(&opts.ID, "id", "", "show this operation in full")
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "operations to list")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runJournal(ctx context.Context, opts *journalOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	// Refused alerts and commands that named no configured pair are journaled apart.
	pairs := append(s.Names(), journal.UnknownPair)
	if opts.Pair != "" {
		if opts.Pair != journal.UnknownPair {
			if err := s.CheckPair(opts.Pair); err != nil {
				return err
			}
		}
		pairs = []string{opts.Pair}
	}
	if opts.Limit < 1 || opts.Limit > 1000 {
		return usagef("--limit %d is not from 1 to 1000", opts.Limit)
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	if opts.ID != "" {
		op, err := findOperation(ctx, a.Journal, pairs, opts.ID)
		if err != nil {
			return err
		}
		if opts.JSON {
			return writeJSON(opts.IO.Out, toOperation(op))
		}
		renderOperation(opts.IO.Out, toOperation(op))
		return nil
	}
	var ops []journal.Operation
	for _, p := range pairs {
		list, err := a.Journal.List(ctx, p, opts.Limit)
		if err != nil {
			return fmt.Errorf("journal of %s: %w", p, err)
		}
		ops = append(ops, list...)
	}
	slices.SortStableFunc(ops, func(x, y journal.Operation) int { return y.Created.Compare(x.Created) })
	if len(ops) > opts.Limit {
		ops = ops[:opts.Limit]
	}
	views := []operationView{}
	for _, op := range ops {
		views = append(views, toOperation(op))
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(opts.IO.Out, "no operations journaled")
		return nil
	}
	tw := newTable(opts.IO.Out)
	row(tw, "CREATED", "ID", "PAIR", "ACTION", "STATUS", "STEPS", "RTO", "ERROR")
	for _, v := range views {
		action := v.Action
		if v.DryRun {
			action += " (dry run)"
		}
		row(tw, v.Created.UTC().Format(time.RFC3339), v.ID, v.Pair, action, v.Status, stepCount(v), fmtRTO(v.RTOSeconds), dash(truncateText(v.Error, 80)))
	}
	return tw.Flush()
}

// findOperation looks for id in each pair's journal.
func findOperation(ctx context.Context, j journal.Store, pairs []string, id string) (journal.Operation, error) {
	for _, p := range pairs {
		op, err := j.Get(ctx, p, id)
		switch {
		case err == nil:
			return op, nil
		case !drerr.Is(err, drerr.NotFound):
			return op, fmt.Errorf("journal of %s: %w", p, err)
		}
	}
	if len(pairs) == 1 {
		return journal.Operation{}, usagef("no operation %s in the journal of %s", id, pairs[0])
	}
	return journal.Operation{}, usagef("no operation %s in the journal of any pair", id)
}
