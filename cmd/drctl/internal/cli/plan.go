package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/failover"
	"integration-dr/journal"
)

type planOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	App      func(context.Context) (*app.App, error)
	Now      func() time.Time
	NewID    func(what string) string
	User     func() string

	Action command.Action
	Pair   string
	Side   string
	JSON   bool
}

func newCmdPlan(f *Factory, runF func(context.Context, *planOptions) error) *cobra.Command {
	opts := &planOptions{IO: f.IO, Settings: f.Settings, App: f.App, Now: f.Now, NewID: f.newID, User: f.User}
	cmd := &cobra.Command{
		Use:   "plan failover|fallback|ssis-failover|attach-ir --pair PAIR",
		Short: "Show, step by step, what a failover or fallback would change now (a dry run)",
		Long: `Runs the command as a dry run, here, in-process: every check runs and every number
is computed, nothing is changed. It prints each step with its outcome and what it
would change (control numbers before -> after), then the workflows the real run
would disable and enable. The dry run is journaled (id plan-<time>-<random>), as any
dry run is. Up to 20 changes are journaled per step; drctl readiness --json lists
every number.

Exits 4 when the plan would be refused (the outcome says which rule), 1 when it could
not be computed (a side or Table Storage did not answer).`,
		Example: `  drctl plan failover --pair contoso-b2b
  drctl plan fallback --pair contoso-b2b --json | jq '.operation.steps[] | {name, changes}'
  drctl plan attach-ir --pair contoso-ssis --side secondary`,
		ValidArgs: []string{string(command.Failover), string(command.Fallback), string(command.SSISFailover), string(command.AttachIR)},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Action = command.Action(args[0])
			return runE(func(ctx context.Context) error {
				if runF != nil {
					return runF(ctx, opts)
				}
				return runPlan(ctx, opts)
			})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&opts.Pair, "pair", "", "the pair (required)")
	cmd.Flags().StringVar(&opts.Side, "side", "", "attach-ir: primary or secondary")
	addJSONFlag(cmd, &opts.JSON)
	_ = cmd.MarkFlagRequired("pair")
	return cmd
}

// planView is the --json document of a plan.
type planView struct {
	Operation operationView `json:"operation"`
	// Then is what a real run would change besides the numbers, by step.
	Then []planChange `json:"then"`
}

type planChange struct {
	Step   string `json:"step"`
	Change string `json:"change"`
}

func runPlan(ctx context.Context, opts *planOptions) error {
	s, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := s.CheckPair(opts.Pair, pairKindOf(opts.Action)); err != nil {
		return err
	}
	c := command.Command{
		ID: opts.NewID("plan"), Action: opts.Action, Pair: opts.Pair, Side: opts.Side, DryRun: true,
		RequestedBy: opts.User(), Reason: "drctl plan",
	}
	if err := c.Validate(func(p string) bool { return s.Kind(p) != NoPair }); err != nil {
		return usagef("%v", err)
	}
	a, err := opts.App(ctx)
	if err != nil {
		return err
	}
	op, err := a.Operations.Submit(ctx, c, journal.Source{RequestedBy: c.RequestedBy}, opts.Now())
	if err != nil {
		return fmt.Errorf("the plan could not be computed (dry run %s): %w", c.ID, err)
	}
	v := planView{Operation: toOperation(op), Then: []planChange{}}
	if op.Status == journal.Succeeded {
		v.Then = realRun(s, op)
	}
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, v); err != nil {
			return err
		}
	} else {
		renderPlan(opts.IO.Out, v)
	}
	return exitFor(op)
}

// realRun is what a real run of a successful dry run would change besides the numbers
// its floors step lists: the workflows each side stops or starts, the wait, the flip.
func realRun(s *Settings, op journal.Operation) []planChange {
	var pair *config.Pair
	for i := range s.Config.Pairs {
		if s.Config.Pairs[i].Name == op.Pair {
			pair = &s.Config.Pairs[i]
		}
	}
	if pair == nil {
		return []planChange{}
	}
	from, to := "primary", "secondary"
	oldWF, newWF := pair.Failover.PrimaryWorkflows, pair.Failover.SecondaryWorkflows
	stop := failover.StepStopOld
	if op.Action == command.Fallback {
		from, to = to, from
		oldWF, newWF = newWF, oldWF
		stop = failover.StepStopIntake
	}
	var out []planChange
	add := func(step, format string, args ...any) {
		out = append(out, planChange{Step: step, Change: fmt.Sprintf(format, args...)})
	}
	for _, id := range oldWF {
		add(stop, "disable workflow %s on the %s", workflowName(id), from)
	}
	if op.Action == command.Fallback {
		add(failover.StepDrain, "wait until reverse replication has carried everything to the %s", to)
	} else {
		add(failover.StepCatchUp, "one more replication pass from the %s, if it answers", from)
	}
	add(failover.StepHold, "pause replication until the flip")
	add(failover.StepBump, "write the floors step's numbers on the %s", to)
	add(failover.StepSettle, "wait %s for the new numbers to take effect", pair.Failover.Settle)
	for _, id := range newWF {
		add(failover.StepEnable, "enable workflow %s on the %s", workflowName(id), to)
	}
	if op.Action != command.Fallback {
		for _, id := range oldWF {
			add(failover.StepFenceOld, "disable workflow %s on the %s again (pending until it answers)", workflowName(id), from)
		}
	}
	add(failover.StepFlip, "the %s becomes active at epoch %d; replication restarts the other way", to, op.EpochBefore+1)
	if op.Action == command.Fallback {
		add(failover.StepConfirm, "wait until replication has run forward once")
	}
	return out
}

// workflowName is a workflow's name and resource group, from its resource ID.
func workflowName(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) == 8 {
		return parts[7] + " (" + parts[3] + ")"
	}
	return id
}

func renderPlan(w io.Writer, v planView) {
	op := v.Operation
	fmt.Fprintf(w, "plan: %s of %s, %s (dry run %s, journaled; nothing was changed)\n", op.Action, op.Pair, op.Status, op.ID)
	renderSteps(w, op.Steps, "", false, true)
	if op.Error != "" {
		fmt.Fprintf(w, "refused: %s\n", op.Error)
	}
	if len(v.Then) > 0 {
		fmt.Fprintln(w, "\nrun for real, the plan then also changes:")
		tw := newTable(w)
		for _, c := range v.Then {
			row(tw, "  "+c.Step, c.Change)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nrun it: drctl %s --pair %s --wait\n", op.Action, op.Pair)
	}
}
