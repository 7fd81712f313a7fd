// Package cli is drctl's command tree: one cobra command per file, each with an
// options struct (flags and dependencies) and a run function that does the work and
// writes only to the options' IOStreams, so that tests drive it in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"integration-dr/view"
)

const rootLong = `drctl operates the integration DR app from a shell: what state the pairs are in,
whether a failover could run now, and the failover, fallback and SSIS commands
themselves, through the command queue or, when the queue or the function app is
what failed, in-process (--direct) with the same journal and per-pair lock.

Configuration is the app's own settings, looked up in this order (first wins):
  1. flags (--topology, --storage, --arm-endpoint, --credential, --queue, ...)
  2. the "Values" of the file named by --settings FILE
  3. the environment (DR_TOPOLOGY, AzureWebJobsStorage, DR_ARM_ENDPOINT, ...)
  4. the "Values" of ./local.settings.json, when no --settings is given and it exists
The environment fills only what a named file leaves out.
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
	// Cobra's own checks run before any of ours and speak its words ("accepts 1
	// arg(s), received 0", "required flag(s) ... not set"): every command's
	// arguments, and the required flags, are checked here instead.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		f.readOnly = readOnlyCommands[cmd.CommandPath()]
		return requiredFlags(cmd)
	}
	root.Args = cobra.ArbitraryArgs
	root.RunE = groupRun

	root.AddCommand(
		newCmdStatus(f, nil),
		newCmdReadiness(f, nil),
		newCmdPlan(f, nil),
		newCmdFailover(f, nil),
		newCmdFallback(f, nil),
		newCmdDrill(f, nil),
		newCmdSSISFailover(f, nil),
		newCmdAttachIR(f, nil),
		newCmdDrift(f, nil),
		newCmdMirror(f, nil),
		newCmdConfirm(f, nil),
		newCmdCancel(f, nil),
		newCmdJournal(f, nil),
		newCmdReplicate(f, nil),
		newCmdCheckpoint(f),
		newCmdDLQ(f),
	)
	ownArgs(root)
	return root
}

// ownArgs gives every command our argument checks: cobra's positional validators
// are kept for what they accept, and a refusal is said in our words, with the usage;
// a command that only groups others (checkpoint, dlq) names them.
func ownArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		ownArgs(c)
	}
	if cmd.HasSubCommands() {
		cmd.Args = cobra.ArbitraryArgs
		// "drctl checkpoint rest --pair p": the unknown word is the mistake to name,
		// not the flag meant for the command that was meant.
		cmd.FParseErrWhitelist.UnknownFlags = cmd.HasParent()
		if cmd.RunE == nil && cmd.Run == nil {
			cmd.RunE = groupRun
		}
		return
	}
	orig := cmd.Args
	if orig == nil {
		orig = cobra.NoArgs
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if orig(c, args) == nil {
			return nil
		}
		if orig(c, nil) == nil {
			// It takes none: these are stray words, often a flag's value.
			hint := ""
			if c.Flags().Lookup("pair") != nil && len(args) == 1 {
				hint = fmt.Sprintf(" (did you mean --pair %s?)", args[0])
			}
			return usagef("%s takes no arguments, got %s%s; usage: %s", c.CommandPath(), quoteAll(args), hint, c.UseLine())
		}
		// It takes one (drctl has no command that takes more): the word after the
		// command in its usage names it.
		want := "one argument"
		if f := strings.Fields(strings.TrimPrefix(c.Use, c.Name())); len(f) > 0 && !strings.HasPrefix(f[0], "-") {
			want = f[0]
		}
		switch {
		case len(c.ValidArgs) > 0 && len(args) == 1:
			return usagef("%s %q: not one of %s; usage: %s", c.CommandPath(), args[0], strings.Join(c.ValidArgs, ", "), c.UseLine())
		case len(c.ValidArgs) > 0 && len(args) == 0:
			return usagef("%s needs one of %s; usage: %s", c.CommandPath(), strings.Join(c.ValidArgs, ", "), c.UseLine())
		case len(args) == 0:
			return usagef("%s needs %s; usage: %s", c.CommandPath(), want, c.UseLine())
		}
		return usagef("%s takes one %s, got %s; usage: %s", c.CommandPath(), want, quoteAll(args), c.UseLine())
	}
}

// groupRun is the run of a command that groups others: alone, its help; with a word
// that is not one of its commands, bad usage naming them.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	hint := ""
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, which SuggestionsFor does not apply
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %s?)", s[0])
	}
	return usagef("unknown command %q for %s%s: the commands are %s", args[0], cmd.CommandPath(), hint, strings.Join(names, ", "))
}

// requiredFlags refuses a command whose required flags are missing, naming them and
// what each is for.
func requiredFlags(cmd *cobra.Command) error {
	var missing []string
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if req := fl.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !fl.Changed {
			missing = append(missing, fmt.Sprintf("--%s (%s)", fl.Name, strings.TrimSuffix(fl.Usage, " (required)")))
		}
	})
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usagef("%s needs %s; see %s --help", cmd.CommandPath(), missing[0], cmd.CommandPath())
	}
	return usagef("%s needs %s; see %s --help", cmd.CommandPath(), strings.Join(missing, " and "), cmd.CommandPath())
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}

// dedupePrefixes drops a "what: " that repeats the one just before it ("table
// storage: table storage: ..."), where an error was wrapped with the words its cause
// already starts with.
func dedupePrefixes(line string) string {
	parts := strings.Split(line, ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
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
	line := dedupePrefixes(oneLine(err))
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
