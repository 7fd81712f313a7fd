package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/view"
)

type readinessOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)

	Pair  string
	Bumps int
	JSON  bool
}

func newCmdReadiness(f *Factory, runF func(context.Context, *readinessOptions) error) *cobra.Command {
	opts := &readinessOptions{IO: f.IO, Settings: f.Settings, App: f.App}
	cmd := &cobra.Command{
		Use:   "readiness",
		Short: "Run every readiness check of a failover (or fallback) now, changing nothing",
		Long: `Runs now, against both sides, every check the move of each integration-account
pair would run (a failover, or a fallback when the secondary is active): the target
answers, its agreements match the active side's by name and protocol, they check
received control numbers for duplicates, every generated number has room for its
bump, and replication's lag is within the pair's maxLag. Prints each check with
pass, fail or warn and why. Nothing is changed and nothing is journaled.

Exits 3 when any pair is not ready.`,
		Example: `  drctl readiness
  drctl readiness --pair contoso-b2b --json | jq '.[0].checks'`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runReadiness(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "only this integration-account pair")
	cmd.Flags().IntVar(&opts.Bumps, "bumps", 10, "numbers to bump to list per pair (--json lists all)")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runReadiness(ctx context.Context, opts *readinessOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	var pairs []string
	if opts.Pair != "" {
		if err := s.CheckPair(opts.Pair, IntegrationPair); err != nil {
			return err
		}
		pairs = []string{opts.Pair}
	} else {
		for _, p := range s.Config.Pairs {
			pairs = append(pairs, p.Name)
		}
	}
	if len(pairs) == 0 {
		return usagef("no integration-account pairs are configured: readiness is for those (drctl status shows SSIS pairs)")
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	views := []readinessView{}
	var notReady []string
	for _, name := range pairs {
		rep, err := a.Failover.Readiness(ctx, name)
		if err != nil {
			return fmt.Errorf("readiness of %s: %w", name, err)
		}
		v := view.FromReport(rep, s.Config.Engine.ReadinessEvery)
		views = append(views, v)
		if !v.Ready {
			notReady = append(notReady, fmt.Sprintf("%s (%s)", name, strings.Join(checksWith(v, verdictFail, verdictNotChecked), ", ")))
		}
	}
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, views); err != nil {
			return err
		}
	} else {
		for i, v := range views {
			if i > 0 {
				fmt.Fprintln(opts.IO.Out)
			}
			renderReadiness(opts.IO.Out, v, max(opts.Bumps, 0))
		}
	}
	if len(notReady) > 0 {
		return exitf(ExitNotReady, "not ready: %s", strings.Join(notReady, "; "))
	}
	return nil
}
