package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/mirror"
	"integration-dr/view"
)

func newCmdMirror(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	opts := newOperateOptions(f, command.Mirror)
	cmd := &cobra.Command{
		Use:   "mirror --pair PAIR [--dry-run] [--prune]",
		Short: "Copy the active side's artifacts to the standby: create what is missing, update what differs",
		Long: `Makes the standby hold what the active side holds: an integration account's
certificates, partners, schemas, maps, agreements and batch configurations, or an SSIS
pair's pipelines and triggers (created stopped). It creates what is missing and updates
what differs, in that order of kinds; it stops a trigger that runs on the standby; it
deletes what only the standby has only with --prune, and never what the pair's
allow-list covers. Each side's own state stays its own: no session, no control number,
no trigger started. SQL Agent jobs are not copied (their owners and credentials differ
per instance): the scripts to run on the standby by hand are printed.

The plan is journaled before the first write, then each change as it lands: a mirror
cut short resumes after the last change that landed and never applies one twice. A
mirror never holds up a failover: it takes no lock, and before every write it reads
which side is active and whether a plan is under way on the pair, stopping ("run mirror
again") when the pair has moved. --dry-run journals and prints every change and writes
nothing.
` + operateHelp,
		Example: `  drctl mirror --pair contoso-b2b --dry-run --direct
  drctl mirror --pair contoso-b2b --wait
  drctl mirror --pair contoso-ssis --prune --direct --json`,
		Args: cobra.NoArgs,
	}
	addOperateFlags(cmd, opts)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "journal and print every change, writing nothing")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "also delete from the standby what only it holds (never what the allow-list covers)")
	cmd.RunE = runE(func(ctx context.Context) error {
		if err := opts.checkWaitFlags(cmd.Flags().Changed("timeout")); err != nil {
			return err
		}
		if runF != nil {
			return runF(ctx, opts)
		}
		return runMirror(ctx, opts)
	})
	return cmd
}

// runMirror sends or runs the mirror as runOperate does any command, then prints its
// plan: every change (a dry run's is all it does), what it leaves alone, and the
// scripts of what is not copied.
func runMirror(ctx context.Context, opts *operateOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	c, err := opts.build(s)
	if err != nil {
		return err
	}
	if !opts.Direct {
		if err := sendQueued(ctx, opts, s, c); err != nil || !opts.Wait {
			return err
		}
	}
	a, err := opts.App(ctx)
	if err != nil {
		if !opts.Direct {
			return fmt.Errorf("queued %s, but cannot follow it: %w", c.ID, err)
		}
		return err
	}
	var op journal.Operation
	if opts.Direct {
		op, err = runDirect(ctx, opts, c)
	} else {
		op, err = newWatch(opts, a.Mirrors, c).run(ctx, nil)
	}
	if err != nil {
		return err
	}
	var plan *mirror.Plan
	if pl, perr := a.Mirror.PlanOf(ctx, op.Pair, op.ID); perr == nil {
		plan = &pl
	} else if !drerr.Is(perr, drerr.NotFound) {
		return fmt.Errorf("read the plan of %s: %w", op.ID, perr)
	}
	if opts.JSON && !opts.Wait {
		if err := writeJSON(opts.IO.Out, view.FromMirror(op, plan)); err != nil {
			return err
		}
		return exitFor(op)
	}
	if !opts.JSON && plan != nil {
		renderMirrorPlan(opts.IO.Out, view.FromMirror(op, plan))
	}
	return opts.report(op)
}

// renderMirrorPlan prints a mirror's plan, change by change.
func renderMirrorPlan(w io.Writer, v view.Mirror) {
	p := v.Plan
	dry := ""
	if v.Operation.DryRun {
		dry = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "%s: %s -> %s at epoch %d: %s to the %s%s\n", p.Pair, p.From, p.To, p.Epoch, plural(len(p.Changes), "change"), p.To, dry)
	for i, c := range p.Changes {
		fmt.Fprintf(w, "  %d. %s %s %s: %s\n", i+1, c.Change, c.Kind, c.Name, c.What)
	}
	if len(p.Kept) > 0 {
		fmt.Fprintf(w, "left alone (%d):\n", len(p.Kept))
		for _, k := range p.Kept {
			fmt.Fprintf(w, "  %s %s: %s; %s\n", k.Kind, k.Name, k.What, k.Why)
		}
	}
	renderScripts(w, p.Scripts, p.To)
}
