package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdFailover(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	return newOperateCmd(f, command.Failover, &cobra.Command{
		Use:   "failover --pair PAIR",
		Short: "Make an integration-account pair's secondary active",
		Long: `Fails the pair over to its secondary as a journaled plan: authorize, readiness, stop
the primary's intake, catch up, hold replication, compute and bump the floors,
settle, enable the secondary, fence the primary (pending until it answers), flip.`,
		Example: `  drctl failover --pair contoso-b2b --reason "West Europe outage" --wait
  drctl failover --pair contoso-b2b --direct --wait      # the queue or the function app is down
  drctl failover --pair contoso-b2b --expected-epoch 0   # refuse if someone moved it since`,
	}, runF)
}
