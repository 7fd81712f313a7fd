// Package cli is drctl's command tree: one cobra command per file, each with an
// options struct (flags and dependencies) and a run function that does the work and
// writes only to the options' IOStreams, so that tests drive it in-process.
package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"integration-dr/view"
)

const rootLong = `drctl operates the integration DR app from a shell: what state the pairs are in,
whether a failover could run now, and the failover, fallback and SSIS commands
themselves, through the command queue or, when the queue or the function app is
what failed, in-process (--direct) with the same journal and per-pair lock.

Configuration is the app's own settings, looked up in this order (first wins):
  1. flags (--topology, --storage, --arm-endpoint, --credential, --queue, ...)
  2. the environment (DR_TOPOLOGY, AzureWebJobsStorage, DR_ARM_ENDPOINT, ...)
  3. the "Values" of a local.settings.json (--settings FILE; by default
     ./local.settings.json when it exists)
The Service Bus connection string, if you use one instead of your identity, is read
from DR_SERVICEBUS_CONNECTION_STRING (or --sb-connection-string) and never printed.

Exit codes:
  0  ok
  1  failed: an operation failed or was cancelled, or an endpoint (Table Storage,
     ARM, Service Bus) did not answer
  2  bad usage: flags, arguments, an unknown pair, bad settings
  3  not ready: readiness, or a check, failed
  4  refused: a safety rule refused the command (rejected in the journal, a stream
     held by a run, a cancel of an operation that has ended, ...)
Errors are one line on stderr. Every command takes --json for a document on stdout.`

const rootExample = `  drctl status
  drctl readiness --pair contoso-b2b
  drctl plan failover --pair contoso-b2b
  drctl failover --pair contoso-b2b --reason "West Europe outage" --wait
  drctl failover --pair contoso-b2b --direct --wait   # Service Bus or the function app is down
  drctl journal --pair contoso-b2b --id fo-2026-11-23-1
  drctl cancel --pair contoso-b2b --operation fo-2026-11-23-1 --reason "the old region was rebuilt"`

// NewRootCmd builds the command tree on f.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "drctl <command> [flags]",
		Short:         "Operate integration DR: status, readiness, failover and fallback, SSIS, the command queue",
		Long:          rootLong,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No completion command: drctl is run on a jump box during an outage, not
		// installed into a shell.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, c.CommandPath())
	})
	f.flags.bind(root.PersistentFlags())

	root.AddCommand(
		newCmdStatus(f, nil),
		newCmdReadiness(f, nil),
		newCmdPlan(f, nil),
		newCmdFailover(f, nil),
		newCmdFallback(f, nil),
		newCmdDrill(f, nil),
		newCmdSSISFailover(f, nil),
		newCmdAttachIR(f, nil),
		newCmdConfirm(f, nil),
		newCmdCancel(f, nil),
		newCmdJournal(f, nil),
		newCmdReplicate(f, nil),
		newCmdCheckpoint(f),
		newCmdDLQ(f),
	)
	return root
}

// Main runs drctl with args and returns its exit code. Every error is reported as one
// line on stderr, and with --json also as a JSON document on stdout (see jsonError).
func Main(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	out := &countingWriter{w: f.IO.Out}
	f.IO.Out = out
	defer func() { f.IO.Out = out.w }()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// An error without a code comes from cobra's own checks (an unknown command, a
	// missing argument or required flag): bad usage.
	code := ExitUsage
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	line := oneLine(err)
	fmt.Fprintln(f.IO.Err, "drctl: "+line)
	if out.n == 0 && wantsJSON(cmd, args) {
		_ = writeJSON(out.w, view.NewError(line, code))
	}
	return code
}

// runE adapts a run function to cobra, giving its error an exit code.
func runE(run func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error { return classify(run(cmd.Context())) }
}

// addJSONFlag gives a command --json.
func addJSONFlag(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVar(dst, "json", false, "print a JSON document instead of tables")
}
