package cli

import "github.com/spf13/cobra"

func newCmdDLQ(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List and resubmit dead-lettered commands",
		Long: `A command in the command queue's dead-letter sub-queue failed on every delivery (10
by default). Its operation in the journal says why (its last error) and how far it got
(its steps). Fix the cause, then resubmit it: the same message id and body go back on
the queue, and the plan resumes where it stopped and never acts twice.

If the queue has duplicate detection on, the broker drops a resubmit made within its
detection window of the original send (same message id): wait it out, or run the
command with drctl <action> --direct --id <id>, which resumes the same operation.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdDLQList(f, nil), newCmdDLQResubmit(f, nil))
	return cmd
}
