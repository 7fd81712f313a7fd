package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/replication"
	"integration-dr/view"
)

type replicateOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)

	Once bool
	Pair string
	JSON bool
}

func newCmdReplicate(f *Factory, runF func(context.Context, *replicateOptions) error) *cobra.Command {
	opts := &replicateOptions{IO: f.IO, Settings: f.Settings, App: f.App}
	cmd := &cobra.Command{
		Use:   "replicate --once [--pair PAIR]",
		Short: "Run one replication pass here, as ReplicateSessions would",
		Long: `Runs one replication pass of every integration-account pair (or one) in-process,
with the same lease, checkpoint and budgets as the ReplicateSessions timer: a pass
that finds the stream held by another run stands aside and says so. It takes at most
the lease (DR_RUN_LEASE); a scan that needs longer goes on in the next pass.`,
		Example: `  drctl replicate --once
  drctl replicate --once --pair contoso-b2b --json`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runReplicate(ctx, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.Once, "once", false, "one pass (required: drctl does not replicate on a timer)")
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "only this pair")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runReplicate(ctx context.Context, opts *replicateOptions) error {
	if !opts.Once {
		return usagef("replicate runs one pass: add --once (the ReplicateSessions timer replicates continuously)")
	}
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if opts.Pair != "" {
		if err := s.CheckPair(opts.Pair, IntegrationPair); err != nil {
			return err
		}
	} else if len(s.Config.Pairs) == 0 {
		return usagef("no integration-account pairs are configured: nothing to replicate")
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	if opts.IO.ErrTTY {
		fmt.Fprintf(opts.IO.Err, "replicating (at most the %s lease)…\n", s.Config.Engine.Lease)
	}
	var stats []replication.Stats
	var runErr error
	if opts.Pair != "" {
		for _, p := range a.Streams.Pairs {
			if p.Name == opts.Pair {
				st, err := a.Engine.Run(ctx, p)
				stats, runErr = []replication.Stats{st}, err
			}
		}
	} else {
		stats, runErr = a.Streams.ReplicateAll(ctx)
	}
	if opts.JSON {
		runs := []view.ReplicationRun{}
		for _, st := range stats {
			runs = append(runs, view.FromStats(st))
		}
		if err := writeJSON(opts.IO.Out, runs); err != nil {
			return errors.Join(runErr, err)
		}
	} else {
		tw := newTable(opts.IO.Out)
		row(tw, "PAIR", "DIRECTION", "SCAN", "LISTED", "STANDBY READS", "WRITES", "SAME", "STANDBY NEWER", "SCAN DONE", "LAG", "NOTE")
		for _, st := range stats {
			lag := "no full sync yet"
			switch {
			case st.Skipped != "":
				lag = "-" // the run stood aside: it measured nothing (drctl status has the lag)
			case st.Lag >= 0:
				lag = fmtAge(st.Lag.Seconds())
			}
			note := st.Skipped
			if note == "" && !st.ScanDone {
				note = "scan continues next pass"
			}
			row(tw, st.Pair, dash(st.Direction), dash(string(st.Scan)), fmt.Sprint(st.Listed), fmt.Sprint(st.Reads), fmt.Sprint(st.Writes),
				fmt.Sprint(st.Same), fmt.Sprint(st.StandbyNewer), yesNo(st.ScanDone), lag, dash(note))
		}
		tw.Flush()
	}
	if runErr != nil {
		return exitf(ExitFailed, "replication: %w", runErr)
	}
	return nil
}
