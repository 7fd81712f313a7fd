package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"integration-dr/app"
	"integration-dr/config"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/replication"
)

// artifacts is the demo's drift half, before the disaster: the secondary lacks a map
// and the standby factory a trigger; readiness says so, a dry run of the mirror lists
// what it would change, the mirror changes it, and readiness turns ready. Drift and
// mirror go through the command queue, as an operator's drctl command would.
func (d *drDemo) artifacts(ctx context.Context, env map[string]string) (before, after int, err error) {
	fmt.Fprintf(d.out, "\nArtifacts: the secondary must hold what the primary holds (partners, agreements, schemas, maps, certificates, batch configurations; the SSIS factories' pipelines and triggers; Agent jobs).\n")
	pairs := []string{localstack.PairName, localstack.SSISPairName}
	drift := func(round string) (int, error) {
		blocking := 0
		for _, pair := range pairs {
			op, err := d.run(ctx, fmt.Sprintf(`{"id":"drift-%s-%s","action":"drift","pair":%q}`, round, pair, pair))
			if err != nil {
				return 0, err
			}
			lines := stepLines(op)
			for _, l := range lines[1:] {
				if !strings.HasSuffix(l, "(allowed)") {
					blocking++
				}
			}
			d.print("drift "+pair, lines)
		}
		return blocking, nil
	}
	if before, err = drift("before"); err != nil {
		return 0, 0, err
	}
	if err := d.readiness(ctx, env); err != nil {
		return 0, 0, err
	}
	for _, mode := range []struct{ id, extra string }{{"dry-run", `,"dryRun":true`}, {"apply", ""}} {
		for _, pair := range pairs {
			op, err := d.run(ctx, fmt.Sprintf(`{"id":"mirror-%s-%s","action":"mirror","pair":%q%s}`, mode.id, pair, pair, mode.extra))
			if err != nil {
				return 0, 0, err
			}
			if op.Status != journal.Succeeded {
				return 0, 0, fmt.Errorf("mirror %s of %s: %s %s", mode.id, pair, op.Status, op.Error)
			}
			name := "mirror " + pair
			if mode.extra != "" {
				name += " --dry-run"
			}
			d.print(name, stepLines(op))
		}
	}
	if after, err = drift("after"); err != nil {
		return 0, 0, err
	}
	return before, after, d.readiness(ctx, env)
}

// run sends a command through the queue and delivers it; an operation left waiting
// is advanced by the operations timer, once a second, until it ends.
func (d *drDemo) run(ctx context.Context, body string) (journal.Operation, error) {
	if _, err := d.host.Send(demoQueue, hostsim.Message{Body: []byte(body)}); err != nil {
		return journal.Operation{}, err
	}
	del, err := d.host.DeliverOne(ctx, handlers.FnRunCommand)
	if err != nil {
		return journal.Operation{}, err
	}
	op := d.remember(del.Result)
	if !op.Status.Open() {
		return op, nil
	}
	err = d.until(ctx, "operation "+op.ID+" ends", func(replication.StreamStatus) bool { return !d.ops[op.ID].Status.Open() })
	return d.ops[op.ID], err
}

// readiness prints the integration-account pair's readiness as drctl readiness makes
// it: the same app, built read-only from the handler's settings.
func (d *drDemo) readiness(ctx context.Context, env map[string]string) error {
	getenv := func(k string) string {
		switch k {
		case "DR_SQL_STANDIN": // the SSIS pair's SQL is not read for this report
			return ""
		case config.EnvPort: // required of the handler; no port is opened here
			return "1"
		}
		return env[k]
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	cfg.SSISPairs = nil
	a, err := app.BuildReadOnly(ctx, cfg, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	rep, err := a.Failover.Readiness(ctx, localstack.PairName)
	if err != nil {
		return err
	}
	verdict := "READY"
	if !rep.Ready() {
		verdict = "NOT READY"
	}
	var lines []string
	for _, c := range rep.Checks {
		mark := "pass"
		switch {
		case c.NotChecked:
			mark = "not checked"
		case !c.OK:
			mark = "FAIL"
		}
		lines = append(lines, fmt.Sprintf("%-36s %-5s %s", c.Name, mark, shorten(c.Why, 110)))
	}
	d.print("readiness "+localstack.PairName+": "+verdict, lines)
	return nil
}

// stepLines are an operation's outcome and the changes its steps list.
func stepLines(op journal.Operation) []string {
	var lines []string
	for _, s := range op.Steps {
		if s.Outcome != "" {
			lines = append(lines, s.Outcome)
		}
	}
	if len(lines) == 0 {
		lines = append(lines, string(op.Status)+" "+op.Error)
	}
	out := lines[:1]
	for _, s := range op.Steps {
		out = append(out, s.Changes...)
	}
	return out
}

func (d *drDemo) print(title string, lines []string) {
	printBlock(d.out, title, lines)
}

func printBlock(w io.Writer, title string, lines []string) {
	fmt.Fprintf(w, "\n%s\n", title)
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
}
