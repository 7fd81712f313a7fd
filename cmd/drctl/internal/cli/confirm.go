package cli

import (
	"context"

	"github.com/spf13/cobra"

	"integration-dr/command"
)

func newCmdConfirm(f *Factory, runF func(context.Context, *operateOptions) error) *cobra.Command {
	opts := newOperateOptions(f, command.Confirm)
	cmd := &cobra.Command{
		Use:   "confirm ID --pair PAIR",
		Short: "Approve an operation an alert proposed",
		Long: `An allow-listed alert in "propose" mode journals a proposed operation that runs only
when an operator confirms it (within an hour). confirm sends that approval, naming the
proposed operation's id (drctl status and drctl journal show it); --wait follows the
proposed operation.` + "\n" + operateHelp,
		Example: `  drctl journal --pair contoso-b2b --limit 3
  drctl confirm alert-e56a013e3d34ff9de861dd91d0615f8f --pair contoso-b2b --wait`,
		Args: cobra.ExactArgs(1),
	}
	addOperateFlags(cmd, opts)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.Target = args[0]
		return runE(func(ctx context.Context) error {
			if err := opts.checkWaitFlags(cmd.Flags().Changed("timeout")); err != nil {
				return err
			}
			if runF != nil {
				return runF(ctx, opts)
			}
			return runOperate(ctx, opts)
		})(cmd, args)
	}
	return cmd
}
