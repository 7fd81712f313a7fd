package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdSSISFailover(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	return newOperateCmd(f, command.SSISFailover, &cobra.Command{
		Use:   "ssis-failover --pair PAIR",
		Short: "Fail an SSIS pair's SQL failover group over, then make its runtimes and triggers follow",
		Long: `Authorizes (refused while the roles are unknown), fails the failover group over to
the side that is secondary (planned; with --force, forced with possible data loss,
journaled as forced), then reconciles until the new primary's runtime runs and its
triggers are started.`,
		Example: `  drctl ssis-failover --pair contoso-ssis --wait
  drctl ssis-failover --pair contoso-ssis --dry-run --direct`,
	}, runF)
}
