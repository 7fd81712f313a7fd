package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/replication"
)

type checkpointResetOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)
	Now      func() time.Time

	Pair string
	Yes  bool
	JSON bool
}

func newCmdCheckpointReset(f *Factory, runF func(context.Context, *checkpointResetOptions) error) *cobra.Command {
	opts := &checkpointResetOptions{IO: f.IO, Settings: f.Settings, App: f.App, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "reset --pair PAIR [--yes]",
		Short: "Make the next replication run of a pair do a full scan",
		Long: `Forgets what the pair's replication stream knows (its watermark, the scan and the
reconciliation under way, the overlap memory), so that the next run lists the active
side whole and compares every session with the standby by the merge rule: it writes
only what differs, and never moves a control number back in time. Use it when you
suspect the standby missed changes.

Kept: the active-region record (which side is active, and its epoch) and the
observed rates failovers size their bumps with, and the run counters.

Until the full scan completes, the lag is unknown and readiness reports the pair not
ready. A full scan costs ARM reads: about one list call per page and a standby read
per session not in the overlap memory.

Refused (exit 4) while a run or an operation's plan holds the stream, while an
operation on the pair is running or waiting, and when the checkpoint changes between
reading and writing it (the write is conditional on its ETag). Asks for the pair's
name on a terminal; without one, --yes is required (exit 2 otherwise).`,
		Example: `  drctl checkpoint reset --pair contoso-b2b
  drctl checkpoint reset --pair contoso-b2b --yes && drctl replicate --once --pair contoso-b2b`,
		Args: cobra.NoArgs,
		RunE: runE(func(ctx context.Context) error {
			if runF != nil {
				return runF(ctx, opts)
			}
			return runCheckpointReset(ctx, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "the integration-account pair (required)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "do not ask")
	addJSONFlag(cmd, &opts.JSON)
	_ = cmd.MarkFlagRequired("pair")
	return cmd
}

// resetView is the --json document of checkpoint reset.
type resetView struct {
	Pair              string     `json:"pair"`
	Reset             bool       `json:"reset"`
	ActiveRegion      string     `json:"activeRegion"`
	Epoch             int64      `json:"epoch"`
	PreviousWatermark *time.Time `json:"previousWatermark"`
	Note              string     `json:"note"`
}

func runCheckpointReset(ctx context.Context, opts *checkpointResetOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := s.CheckPair(opts.Pair, IntegrationPair); err != nil {
		return err
	}
	if !opts.Yes && !opts.IO.InTTY {
		return usagef("refusing to reset the checkpoint of %s without --yes: there is no terminal to confirm on", opts.Pair)
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	confirm := func(region replication.ActiveRegion) (bool, error) { return true, nil }
	if !opts.Yes {
		confirm = opts.confirm
	}
	v, err := resetStream(ctx, a.Checkpoints, a.Journal, opts.Pair, opts.Now(), confirm)
	if err != nil {
		return err
	}
	return opts.print(v)
}

// pendingLister lists the operations running or waiting; journal.Store is one.
type pendingLister interface {
	ListPending(ctx context.Context) ([]journal.Operation, error)
}

// resetStream resets pair's checkpoint unless a run or a plan holds the stream, an
// operation on the pair is pending, or confirm says no; the write is conditional on the
// ETag read, so a run that claims the stream in between wins and nothing is reset.
func resetStream(ctx context.Context, store replication.Store, ops pendingLister, pair string, now time.Time, confirm func(replication.ActiveRegion) (bool, error)) (resetView, error) {
	cp, region, err := store.Load(ctx, pair)
	if err != nil {
		return resetView{}, err
	}
	v := resetView{Pair: pair, ActiveRegion: string(region.Active), Epoch: region.Epoch, PreviousWatermark: timePtr(cp.Watermark)}
	if cp.ETag == "" {
		v.Note = "no checkpoint is stored: the next run does a full scan anyway"
		return v, nil
	}
	if leaseHeld(cp, now) {
		return v, exitf(ExitRefused, "the stream of %s is held by %s until %s: a run or an operation's plan is using it; nothing was reset", pair, cp.LeaseOwner, cp.LeaseUntil.UTC().Format(time.RFC3339))
	}
	pending, err := ops.ListPending(ctx)
	if err != nil {
		return v, err
	}
	for _, op := range pending {
		if op.Pair == pair {
			return v, exitf(ExitRefused, "operation %s (%s) is %s on %s and its plan reads this checkpoint: reset it after the operation ends; nothing was reset", op.ID, op.Action, op.Status, pair)
		}
	}
	ok, err := confirm(region)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, usagef("not confirmed: nothing was reset")
	}
	if _, err := store.Save(ctx, resetCheckpoint(cp)); err != nil {
		if drerr.Is(err, drerr.Conflict) {
			return v, exitf(ExitRefused, "the checkpoint of %s changed while it was being reset (a run or an operation wrote it first): nothing was reset; look again with drctl checkpoint show", pair)
		}
		return v, err
	}
	v.Reset = true
	v.Note = fmt.Sprintf("the next run does a full scan of the %s side; until it completes the lag is unknown and readiness says not ready; the active-region record (%s at epoch %d) is unchanged",
		region.Active, region.Active, region.Epoch)
	return v, nil
}

// resetCheckpoint forgets what the stream knows of the standby, keeping its identity
// (pair, epoch, ETag for the conditional write), the active side's clock offset, the
// observed rates failovers size their bumps with, and the counters and history.
func resetCheckpoint(cp replication.Checkpoint) replication.Checkpoint {
	cp.Watermark = time.Time{}
	cp.Scan = replication.Scan{}
	cp.Reconcile = replication.Scan{}
	cp.Recent = nil
	return cp
}

// confirm asks on the terminal for the pair's name.
func (opts *checkpointResetOptions) confirm(region replication.ActiveRegion) (bool, error) {
	fmt.Fprintf(opts.IO.Err, `Reset the replication checkpoint of %s?
  the next run lists the %s side whole and compares it with the %s (ARM reads; writes only what differs);
  until it completes, the lag is unknown and readiness says not ready;
  kept: the active-region record (%s at epoch %d) and the observed rates.
Type the pair's name to reset it: `, opts.Pair, region.Active, region.Active.Other(), region.Active, region.Epoch)
	line, err := bufio.NewReader(opts.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return strings.TrimSpace(line) == opts.Pair, nil
}

func (opts *checkpointResetOptions) print(v resetView) error {
	if opts.JSON {
		return writeJSON(opts.IO.Out, v)
	}
	if v.Reset {
		fmt.Fprintf(opts.IO.Out, "reset the checkpoint of %s: %s\n", v.Pair, v.Note)
	} else {
		fmt.Fprintf(opts.IO.Out, "%s: %s\n", v.Pair, v.Note)
	}
	return nil
}
