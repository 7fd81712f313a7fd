package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdAttachIR(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	return newOperateCmd(f, command.AttachIR, &cobra.Command{
		Use:   "attach-ir --pair PAIR [--side primary|secondary]",
		Short: "Move SSISDB to the other side's integration runtime (a runtime's region is lost)",
		Long: `The guide's procedure for a lost runtime region, as one journaled command: stop the
runtime that serves SSISDB if it answers, run catalog.failover_integration_runtime on
the primary SSISDB with the new side's names, start the new runtime and its triggers.`,
		Example: `  drctl attach-ir --pair contoso-ssis --side secondary --wait`,
	}, runF)
}
