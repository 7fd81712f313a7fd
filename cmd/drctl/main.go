// Command drctl operates the integration DR app from a shell: status, readiness,
// plans, failover and fallback (through the queue or in-process), SSIS commands, the
// journal, replication passes, checkpoints and the dead-letter queue. See drctl --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"integration-dr/cmd/drctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.NewFactory(), os.Args[1:])
	stop()
	os.Exit(code)
}
