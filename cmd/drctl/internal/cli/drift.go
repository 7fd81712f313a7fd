package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/view"
)

type driftOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)

	Pair string
	JSON bool
}

func newCmdDrift(f *Factory, runF func(context.Context, *driftOptions) error) *cobra.Command {
	opts := &driftOptions{IO: f.IO, Settings: f.Settings, App: f.App}
	cmd := &cobra.Command{
		Use:   "drift --pair PAIR",
		Short: "Compare the artifacts of a pair's two sides now, changing nothing",
		Long: `Lists, now, every difference between the active side and the standby: for an
integration-account pair its partners, agreements, schemas, maps, certificates and
batch configurations; for an SSIS pair the factories' pipelines and triggers and the
SQL Agent jobs of both instances. Each difference names the artifact, what differs, the
change a mirror would make, and whether the pair's allow-list of intended differences
("drift" in DR_TOPOLOGY) covers it. A trigger or schedule running on the standby is a
difference too. For the Agent jobs a mirror does not copy, the scripts to run on the
standby by hand follow. Nothing is changed and nothing is journaled.

Exits 3 when a difference is not on the allow-list, 1 when a side could not be read
("not compared": never read as no drift).`,
		Example: `  drctl drift --pair contoso-b2b
  drctl drift --pair contoso-ssis --json | jq '.differences[] | select(.allowed | not)'`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runDrift(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "the pair (required)")
	_ = cmd.MarkFlagRequired("pair")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runDrift(ctx context.Context, opts *driftOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := s.CheckPair(opts.Pair); err != nil {
		return err
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	rep, err := a.Mirror.Report(ctx, opts.Pair)
	if err != nil {
		return fmt.Errorf("drift of %s: %w", opts.Pair, err)
	}
	v := view.FromDrift(rep)
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, v); err != nil {
			return err
		}
	} else {
		renderDrift(opts.IO.Out, v)
	}
	switch v.State {
	case view.DriftNotCompared:
		return exitf(ExitFailed, "%s: not compared: %s", v.Pair, v.NotCompared)
	case view.DriftNotReady:
		return exitf(ExitNotReady, "%s: not ready: %s", v.Pair, plural(v.Blocking, "difference")+" not on the allow-list")
	}
	return nil
}

func driftWords(state string) string {
	switch state {
	case view.DriftReady:
		return "READY"
	case view.DriftNotReady:
		return "NOT READY"
	case view.DriftNotCompared:
		return "NOT COMPARED"
	}
	return strings.ToUpper(state)
}

// renderDrift prints a drift report: the verdict, each difference, the scripts.
func renderDrift(w io.Writer, v view.Drift) {
	if v.State == view.DriftNotCompared {
		fmt.Fprintf(w, "%s: NOT COMPARED  (%s)\n%s\n", v.Pair, v.ComparedAt.UTC().Format(time.RFC3339), v.NotCompared)
		return
	}
	fmt.Fprintf(w, "%s: %s -> %s  %s  (compared %s at epoch %d)\n", v.Pair, v.Active, v.Standby, driftWords(v.State), v.ComparedAt.UTC().Format(time.RFC3339), v.Epoch)
	for _, why := range v.StaleBecause {
		fmt.Fprintf(w, "stale: %s\n", why)
	}
	fmt.Fprintf(w, "%s on the %s, %d on the %s; %s, %d allowed\n", plural(v.ActiveCount, "artifact"), v.Active, v.StandbyCount, v.Standby, plural(len(v.Differences), "difference"), v.Allowed)
	if len(v.Differences) > 0 {
		tw := newTable(w)
		row(tw, "KIND", "NAME", "CHANGE", "ALLOWED", "WHAT")
		for _, d := range v.Differences {
			row(tw, d.Kind, d.Name, d.Change, yesNo(d.Allowed), d.What)
		}
		tw.Flush()
	}
	if v.Omitted > 0 {
		fmt.Fprintf(w, "… and %d more (drctl drift --pair %s lists them all)\n", v.Omitted, v.Pair)
	}
	renderScripts(w, v.Scripts, v.Standby)
}

// renderScripts prints what to run by hand on the standby for what is not copied.
func renderScripts(w io.Writer, scripts []view.Script, standby string) {
	if len(scripts) == 0 {
		return
	}
	fmt.Fprintf(w, "not copied (owners and credentials differ per instance): run on the %s, then review owner, proxies and credentials:\n", standby)
	for _, s := range scripts {
		fmt.Fprintf(w, "-- %s %s\n%s\n", s.Kind, s.Name, strings.TrimRight(s.Script, "\n"))
	}
}
