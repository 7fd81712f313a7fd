package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"integration-dr/redact"
)

// Exit codes, documented in drctl --help: scripts rely on them.
const (
	ExitOK       = 0 // done
	ExitFailed   = 1 // an operation failed, or an endpoint (Table Storage, ARM, Service Bus) did not answer
	ExitUsage    = 2 // bad flags or arguments, an unknown pair, bad settings
	ExitNotReady = 3 // readiness, or a check, failed
	ExitRefused  = 4 // a safety rule refused the command (journaled as rejected, a held lease, ...)
)

// ExitError ends a command with an exit code and one line for stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

func usagef(format string, args ...any) error { return exitf(ExitUsage, format, args...) }

// classify gives every error a command returns an exit code: its own if it has one,
// else "failed". Only errors that went through classify reach Main with a
// code; anything else came from cobra's parsing, which is bad usage.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return err
	case errors.Is(err, context.Canceled):
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("interrupted: %w", err)}
	}
	return &ExitError{Code: ExitFailed, Err: err}
}

// maxLine bounds the error line: an SDK's response error carries the whole body.
const maxLine = 600

// oneLine makes an error one line for stderr: an SDK error's lines (request, a row of
// dashes, the response, its body) are joined, and a long one is cut.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || strings.Trim(l, "-=") == "" {
			continue
		}
		parts = append(parts, l)
	}
	// Settings and SDK errors may quote what they refused (a connection string, a
	// signed URL): the line is masked.
	s := redact.String(strings.Join(parts, "; "))
	if utf8.RuneCountInString(s) > maxLine {
		s = string([]rune(s)[:maxLine-1]) + "…"
	}
	return s
}

// wantsJSON says the command line asked for --json: the flag as parsed, or, when
// parsing itself failed, the word on the command line (before a "--").
func wantsJSON(cmd *cobra.Command, args []string) bool {
	if cmd != nil {
		if fl := cmd.Flags().Lookup("json"); fl != nil && fl.Changed {
			return fl.Value.String() == "true"
		}
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

// countingWriter counts what went through it: an error becomes a JSON document on
// stdout only when the command printed none, so stdout always holds one document.
type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}
