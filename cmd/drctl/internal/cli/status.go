package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/overview"
)

type statusOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)

	Pair string
	Last int
	JSON bool
}

func newCmdStatus(f *Factory, runF func(context.Context, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{IO: f.IO, Settings: f.Settings, App: f.App}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Each pair's active side, lag, pending and last operations, SSIS pairs",
		Long: `Shows what an operator needs in the first seconds of an outage, read from Table
Storage only (no call to Azure, so it answers while a region is down): per pair the
active side and epoch, replication lag (now less the newest replicated change) and
time since the last successful run, the last error; the kept readiness report;
operations running or waiting (settles, drains, pending fences); the last operations
with their steps and RTO; and the SSIS pairs' roles, runtimes, triggers and
schedules as last reconciled, with any unknown role.

Exits 1 when part of the state could not be read (what could be is still shown).`,
		Example: `  drctl status
  drctl status --pair contoso-b2b --last 1
  drctl status --json | jq '.streams[] | {pair, activeRegion, lagSeconds}'`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runStatus(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "only this pair")
	cmd.Flags().IntVar(&opts.Last, "last", 3, "operations to show per pair")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runStatus(ctx context.Context, opts *statusOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if opts.Pair != "" {
		if err := s.CheckPair(opts.Pair); err != nil {
			return err
		}
	}
	if opts.Last < 1 || opts.Last > 100 {
		return usagef("--last %d is not from 1 to 100", opts.Last)
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	src := a.Handler.Overview
	src.LastOperations = opts.Last
	v := toStatus(overview.Collect(ctx, src, opts.Pair))
	if opts.JSON {
		err = writeJSON(opts.IO.Out, v)
	} else {
		err = renderStatus(opts.IO.Out, v)
	}
	if err != nil {
		return err
	}
	if len(v.Problems) > 0 {
		return exitf(ExitFailed, "part of the state could not be read: %s", strings.Join(v.Problems, "; "))
	}
	return nil
}
