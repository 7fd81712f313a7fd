package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdFallback(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	return newOperateCmd(f, command.Fallback, &cobra.Command{
		Use:   "fallback --pair PAIR",
		Short: "Make an integration-account pair's primary active again",
		Long: `Falls the pair back to its primary as a journaled plan: authorize, readiness, stop
the secondary's intake, drain the reverse backlog (waits until reverse replication has
carried everything to the primary), hold replication, floors, bump, settle, enable the
primary, flip, and wait until replication runs forward again. A fallback is always an
operator's decision: no alert starts one.`,
		Example: `  drctl plan fallback --pair contoso-b2b
  drctl fallback --pair contoso-b2b --reason "West Europe is back" --wait`,
	}, runF)
}
