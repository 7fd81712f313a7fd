package cli

import "github.com/spf13/cobra"

func newCmdCheckpoint(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Show or reset a pair's replication checkpoint",
		Long: `A pair's replication stream keeps a checkpoint in Table Storage: its watermark, the
scan and reconciliation under way, the last run, and the lease a run holds it by.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdCheckpointShow(f, nil), newCmdCheckpointReset(f, nil))
	return cmd
}
