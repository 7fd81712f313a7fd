// Command handler is the Azure Functions custom handler: the executable the Functions
// host starts (host.json customHandler.description.defaultExecutablePath) and forwards
// every invocation to over HTTP on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"integration-dr/app"
	"integration-dr/config"
	"integration-dr/redact"
)

func main() {
	log := newLogger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log, os.Getenv); err != nil {
		log.Error("handler stopped", "err", err)
		os.Exit(1)
	}
}

// newLogger logs JSON lines to w, every one masked (package redact): an alert's
// text, an SDK error quoting a connection string, or a setting refused at start-up
// may hold a secret.
func newLogger(w io.Writer) *slog.Logger { return slog.New(redact.JSONHandler(w, nil)) }

// run serves until ctx ends, then lets the invocation in flight finish.
func run(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	a, err := app.Build(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	h := a.Handler
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Without an IdleTimeout, Go counts a kept-alive connection's idle time against
	// ReadHeaderTimeout and closes it after 10 s: a caller reusing it then may send
	// its POST into a closing socket, and a POST is not retried. Idle connections stay
	// open longer than the host's pool keeps them, so the caller always closes first.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "pairs", len(cfg.Pairs))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing the invocation in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Engine.Lease)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
