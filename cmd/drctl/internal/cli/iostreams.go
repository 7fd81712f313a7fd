package cli

import (
	"io"
	"os"
)

// IOStreams are where a command reads and writes: the process's standard streams, or
// buffers in tests. Commands write only here.
type IOStreams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// InTTY, OutTTY and ErrTTY say whether each stream is a terminal: prompts need one,
	// and live progress rewrites its line only on one.
	InTTY, OutTTY, ErrTTY bool
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
	}
}

// isTerminal says whether f is a character device. That also counts /dev/null, which
// errs on the safe side: a prompt read from it gets no answer and refuses.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
