package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdDrill(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	return newOperateCmd(f, command.Drill, &cobra.Command{
		Use:   "drill --pair PAIR",
		Short: "Rehearse a failover: checks and numbers, journaled, nothing changed in Azure",
		Long: `Runs authorize, readiness and the floors of the pair's next move and journals what
would change (numbers before -> after) and the expected RTO. It writes nothing to ARM.
drctl plan shows the same, in-process, without the queue.`,
		Example: `  drctl drill --pair contoso-b2b --wait
  drctl drill --pair contoso-b2b --direct`,
	}, runF)
}
