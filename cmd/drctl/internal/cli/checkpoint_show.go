package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/replication"
	"integration-dr/view"
)

type checkpointShowOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)
	Now      func() time.Time

	Pair string
	JSON bool
}

func newCmdCheckpointShow(f *Factory, runF func(context.Context, *checkpointShowOptions) error) *cobra.Command {
	opts := &checkpointShowOptions{IO: f.IO, Settings: f.Settings, App: f.App, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "show --pair PAIR",
		Short: "Show a pair's checkpoint: watermark, lag, scans, last run, lease, counts",
		Example: `  drctl checkpoint show --pair contoso-b2b
  drctl checkpoint show --pair contoso-b2b --json | jq .lagSeconds`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runCheckpointShow(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "the integration-account pair (required)")
	addJSONFlag(cmd, &opts.JSON)
	_ = cmd.MarkFlagRequired("pair")
	return cmd
}

func toCheckpoint(cp replication.Checkpoint, region replication.ActiveRegion, now time.Time) checkpointView {
	return view.FromCheckpoint(cp, region, now)
}

// leaseHeld says a run (or an operation's plan, "operation:<id>") holds the stream.
func leaseHeld(cp replication.Checkpoint, now time.Time) bool {
	return cp.LeaseOwner != "" && now.Before(cp.LeaseUntil)
}

func runCheckpointShow(ctx context.Context, opts *checkpointShowOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := s.CheckPair(opts.Pair, IntegrationPair); err != nil {
		return err
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	cp, region, err := a.Checkpoints.Load(ctx, opts.Pair)
	if err != nil {
		return err
	}
	v := toCheckpoint(cp, region, opts.Now())
	if opts.JSON {
		return writeJSON(opts.IO.Out, v)
	}
	renderCheckpoint(opts.IO.Out, v)
	return nil
}

func renderCheckpoint(w io.Writer, v checkpointView) {
	tw := newTable(w)
	row(tw, "pair", v.Pair)
	row(tw, "active", fmt.Sprintf("%s at epoch %d", v.ActiveRegion, v.Epoch))
	if !v.Stored {
		row(tw, "checkpoint", "none stored yet: the first run does a full scan")
		tw.Flush()
		return
	}
	if v.CheckpointEpoch != v.Epoch {
		row(tw, "checkpoint epoch", fmt.Sprintf("%d (the next run restarts the stream in the new direction)", v.CheckpointEpoch))
	}
	row(tw, "watermark", fmtTime(v.Watermark))
	lag := fmtAge(v.LagSeconds)
	if v.LagSeconds < 0 {
		lag = "unknown: no full sync yet"
	}
	row(tw, "lag", lag)
	row(tw, "scan", scanLine(v.Scan))
	row(tw, "reconciliation", scanLine(v.Reconcile)+fmt.Sprintf("; last %s, healed %d", fmtTime(v.LastReconciled), v.LastHealed))
	row(tw, "last run", fmt.Sprintf("%s, %d listed, %d written, took %s", fmtTime(v.LastRun), v.LastListed, v.LastWrites,
		(time.Duration(v.LastDurationSeconds*float64(time.Second))).Round(time.Millisecond)))
	row(tw, "last success", fmtTime(v.LastSuccess))
	row(tw, "last error", dash(v.LastError))
	lease := "free"
	if v.LeaseHeld {
		lease = fmt.Sprintf("held by %s until %s", v.LeaseOwner, fmtTime(v.LeaseUntil))
	}
	row(tw, "lease", lease)
	row(tw, "runs", fmt.Sprintf("%d, %d writes in all, %d future-stamped", v.Runs, v.Writes, v.FutureStamped))
	row(tw, "remembered", fmt.Sprintf("%d sessions in the overlap memory, %d observed rates", v.OverlapMemory, v.ObservedRates))
	tw.Flush()
}

func scanLine(s scanView) string {
	if s.Kind == "" {
		return "none under way"
	}
	line := fmt.Sprintf("%s, %d listed, %d written", s.Kind, s.Listed, s.Writes)
	if s.Since != nil {
		line += ", since " + fmtTime(s.Since)
	}
	if s.Resuming {
		line += ", resumes at its saved cursor"
	}
	return line
}
